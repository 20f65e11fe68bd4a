// The one Node.js version check: `npm ci`/`npm install` run it (package.json preinstall) and `npm start` imports it
// first (scripts/start.ts). The project needs Node 24 (package.json engines): Node 20 is past its end of life, the
// Lambda runtime is nodejs24.x, and the native modules are built for the Node that installs them. Plain CommonJS
// with nothing newer than ES5, so that any old Node can run it and say so in one line instead of failing somewhere
// deep in a dependency.
var REQUIRED_MAJOR = 24;
var major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED_MAJOR) {
  process.stderr.write(
    'digit-service needs Node.js ' +
      REQUIRED_MAJOR +
      ' or later, this is ' +
      process.version +
      ': run `eval "$(bash scripts/setup-node.sh)"` (Node ' +
      REQUIRED_MAJOR +
      ' from the npm registry into ~/.cache/digit-service) or install it from https://nodejs.org, then try again.\n',
  );
  process.exit(1);
}
