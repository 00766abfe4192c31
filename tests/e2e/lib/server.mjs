// The server side of the end-to-end tests, asked of the Python test harness: `python3 -m
// pyshs.serve --config e2e` (tests/pyshs/serve.py) builds the server with the same code as the
// integration tests (memcached; httpd with mod_ssl and mod_sharedsession serving the demo's
// legacy PHP shop as a.test, b.test and c.test on one https port of 127.0.0.1, a throwaway
// CA, one group whose hub is a.test), prints one JSON line when it answers, and stops both
// by pid when its stdin is closed or it gets SIGTERM.
//
// Everything lives in one temporary directory made here.  The harness process is remembered
// by pid, and so are the httpd and memcached it reports, for the last resort (stopNow).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { alive, signal, sleep, stopPids } from './proc.mjs';

export const PYTHON = '/usr/bin/python3';
const TESTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVE = ['-m', 'pyshs.serve', '--config', 'e2e'];

// What the server needs, with the Debian package that provides it (asked of the harness).
export function serverRequirements() {
  const python = { what: PYTHON, pkg: 'python3' };
  if (!fs.existsSync(PYTHON)) return [python];
  const res = spawnSync(PYTHON, [...SERVE, '--requirements'], { cwd: TESTS, encoding: 'utf8', timeout: 60000 });
  try {
    return [python, ...JSON.parse(res.stdout)];
  } catch {
    throw new Error(`${PYTHON} ${SERVE.join(' ')} --requirements failed: ${(res.stderr || String(res.error || res.status)).trim()}`);
  }
}

export class Server {
  constructor({ module, log = console.log, keep = false }) {
    this.module = module;
    this.log = log;
    this.keep = keep;
    this.dir = null; // what this side made: the harness's directory
    this.info = null; // the harness's JSON line
    this.child = null;
    this.exited = null; // the harness process's exit, once it ended
    this.lines = null; // its stdout, line by line
    this.stopped = false;
  }

  get root() { return this.dir; }

  get port() { return this.info?.port ?? null; }

  get tls() { return { ca: this.info?.ca }; }

  get errorLog() { return this.info?.error_log; }

  get accessLog() { return this.info?.access_log; }

  site(host) {
    return this.info.sites[host];
  }

  // The next JSON line of the harness, within MS milliseconds.
  async nextLine(ms, what) {
    const end = Date.now() + ms;
    for (;;) {
      if (this.lines.length) return JSON.parse(this.lines.shift());
      if (this.exited) throw new Error(`the test harness ended (${this.exited}) before ${what}`);
      if (Date.now() > end) throw new Error(`the test harness gave no answer within ${ms / 1000} s for ${what}`);
      await sleep(50);
    }
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shs-e2e-'));
    fs.chmodSync(this.dir, 0o755); // www-data reads the app below it
    const args = [...SERVE, '--dir', this.dir, '--module', this.module];
    this.child = spawn(PYTHON, args, { cwd: TESTS, stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = [];
    // 'close': the process ended and its output has been read to the end
    this.child.on('close', (code, sig) => { this.exited = `exit ${code ?? sig}`; });
    this.child.on('error', (e) => { this.exited = e.message; });
    readline.createInterface({ input: this.child.stdout }).on('line', (l) => this.lines.push(l));
    readline.createInterface({ input: this.child.stderr }).on('line', (l) => this.log(`  [harness] ${l}`));
    const info = await this.nextLine(60000, 'the server to be ready');
    if (!info.ready) throw new Error(`the servers did not start: ${info.error}${info.problems?.length ? `; ${info.problems.join('; ')}` : ''}`);
    this.info = info;
    this.log(`memcached pid ${info.memcached_pid} on ${info.memcached}`);
    this.log(`httpd pid ${info.httpd_pid} on https://{${info.hosts.join(',')}}:${info.port} (root ${info.root}; ${PYTHON} ${SERVE.join(' ')}, pid ${info.pid})`);
  }

  // Stops the servers (the harness does, by pid, when its stdin closes); the problems it or
  // this side saw, as strings.
  async stop() {
    if (this.stopped || !this.child) return [];
    this.stopped = true;
    const problems = [];
    this.child.stdin.end();
    // its last line says what the stop found (a line before it: the start's, when stopped
    // during the start); a harness that ended without it (a failed start) has said all
    let done = null;
    try {
      do done = await this.nextLine(60000, 'the servers to stop'); while (!done.stopped);
    } catch (e) {
      if (!this.exited) problems.push(e.message);
    }
    if (done?.problems?.length) problems.push(...done.problems);
    const end = Date.now() + 10000;
    while (!this.exited && Date.now() < end) await sleep(50);
    if (!this.exited) {
      problems.push(`the test harness (pid ${this.child.pid}) did not end: stopped by signal`);
      await stopPids([this.child.pid], 5000);
    }
    const left = [this.info?.httpd_pid, this.info?.memcached_pid].filter((p) => p && alive(p));
    if (left.length) {
      problems.push(`still running after the stop: pid(s) ${left.join(' ')}: stopped by signal`);
      await stopPids(left, 5000);
    }
    for (const p of problems) this.log(`  server stop: ${p}`);
    return problems;
  }

  // Last resort, synchronous (process exit): signal what is still running.
  stopNow() {
    for (const pid of [this.child?.pid, this.info?.httpd_pid, this.info?.memcached_pid]) {
      if (pid && alive(pid)) signal(pid, 'SIGTERM');
    }
  }

  removeFiles() {
    if (this.dir && !this.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Error-log lines: what fails a run, what is worth printing.
export const BAD_LINE = /\[(?:[\w.-]+:)?(?:error|crit|alert|emerg)\]|exit signal/;
export const WARN_LINE = /\[(?:[\w.-]+:)?warn\]/;

// Reads a log file from where the last read stopped.
export class LogTail {
  constructor(file) {
    this.file = file;
    this.offset = 0;
  }

  read() {
    let buf;
    try {
      buf = fs.readFileSync(this.file);
    } catch {
      return [];
    }
    const text = buf.subarray(this.offset).toString('utf8');
    const end = text.lastIndexOf('\n') + 1; // whole lines only
    this.offset += Buffer.byteLength(text.slice(0, end));
    return text.slice(0, end).split('\n').filter(Boolean);
  }
}
