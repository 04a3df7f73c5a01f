#!/usr/bin/env node
// `npm start` / `npm test`: checks Node, installs dependencies when they are missing or stale,
// then runs scripts/<cmd>.ts with tsx. Plain Node, no dependencies; written so that an old Node
// can still parse it and print the version message.
'use strict';

var fs = require('fs');
var path = require('path');
var childProcess = require('child_process');

var MIN_NODE = 20;
var major = Number(process.versions.node.split('.')[0]);
if (!(major >= MIN_NODE)) {
  console.error(
    'This project needs Node.js ' +
      MIN_NODE +
      ' or newer; this is ' +
      process.version +
      '.\n' +
      'Install Node ' +
      MIN_NODE +
      '+ (https://nodejs.org, or `nvm install ' +
      MIN_NODE +
      '`) and run the command again.',
  );
  process.exit(1);
}

var COMMANDS = ['start', 'test', 'start-cluster'];
var cmd = process.argv[2];
if (COMMANDS.indexOf(cmd) === -1) {
  console.error('usage: node scripts/bootstrap.cjs <' + COMMANDS.join('|') + '> [...args]');
  process.exit(2);
}
var args = process.argv.slice(3);
var root = path.resolve(__dirname, '..');

function mtimeOf(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch (err) {
    return undefined;
  }
}

function needsInstall() {
  var installed = mtimeOf(path.join(root, 'node_modules', '.package-lock.json'));
  if (!fs.existsSync(path.join(root, 'node_modules')) || installed === undefined) return true;
  if (!fs.existsSync(tsxBin())) return true;
  var lock = mtimeOf(path.join(root, 'package-lock.json'));
  // npm may write package-lock.json a moment after node_modules/.package-lock.json: allow 2 s
  return lock !== undefined && lock > installed + 2000;
}

function tsxBin() {
  return path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsx.cmd' : 'tsx');
}

if (needsInstall()) {
  console.log('installing dependencies...');
  var npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  var install = childProcess.spawnSync(npm, ['ci', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (install.error) {
    console.error('could not run npm: ' + install.error.message);
    process.exit(1);
  }
  if (install.status !== 0) {
    console.error('npm ci failed (exit code ' + install.status + ')');
    process.exit(install.status || 1);
  }
}

// Node with tsx's loader, not the tsx CLI: the CLI relays a Ctrl-C and SIGKILLs its child 30 ms
// later, in the middle of the runner's shutdown, which left Postgres and nats-server running.
var child = childProcess.spawn(process.execPath, ['--import', 'tsx', path.join('scripts', cmd + '.ts')].concat(args), {
  cwd: root,
  stdio: 'inherit',
});

function forward(signal) {
  // A terminal's Ctrl-C reaches the child too; the scripts treat a repeated signal as one.
  if (child.exitCode === null && child.signalCode === null) {
    try {
      child.kill(signal);
    } catch (err) {
      /* already gone */
    }
  }
}
process.on('SIGINT', function () {
  forward('SIGINT');
});
process.on('SIGHUP', function () {
  forward('SIGHUP');
});
process.on('SIGTERM', function () {
  forward('SIGTERM');
});

child.on('error', function (err) {
  console.error('could not run scripts/' + cmd + '.ts: ' + err.message);
  process.exit(1);
});
child.on('exit', function (code, signal) {
  if (code !== null) process.exit(code);
  var signals = require('os').constants.signals;
  process.exit(128 + ((signal && signals[signal]) || 1));
});
