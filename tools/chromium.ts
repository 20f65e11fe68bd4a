/**
 * Debian's Chromium as the browser tests launch it (through playwright-core): where it is, and the flags it
 * needs here. No test tool may download a browser of its own on these machines.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test cannot run, when CHROMIUM is missing. */
export const CHROMIUM_MISSING = `${CHROMIUM} is missing: apt-get install -y chromium (scripts/test-all.sh and .ci/run do)`;

// Without the background-networking flags Chromium keeps calling out to hosts this machine cannot reach.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
