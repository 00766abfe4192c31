#!/usr/bin/env node
// End-to-end browser tests of mod_sharedsession.
//
//   node tests/e2e/run.mjs [scenario ...]     all scenarios but the extra ones when none is named
//   node tests/e2e/run.mjs --list
//
// Has the Python test harness start memcached and httpd (tests/pyshs/serve.py: mod_ssl +
// mod_sharedsession, the demo's PHP shop as a.test, b.test and c.test, a.test the group's
// hub) on 127.0.0.1, runs each scenario in a fresh profile of its browser, then checks
// httpd's error log.  Last line: "N passed, M failed[, K skipped]"; exit 1 when
// anything failed.  With CI=true a missing component fails instead of skipping.
// Env: SHS_MODULE (the module to load), SHS_E2E_KEEP=1 (keep the temporary directory),
// SHS_E2E_SLOW=N (multiply every time bound by N, for a loaded machine).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BROWSERS, SLOW } from './lib/browsers.mjs';
import { Harness } from './lib/harness.mjs';
import { BAD_LINE, LogTail, Server, WARN_LINE, serverRequirements } from './lib/server.mjs';
import { WebDriverHarness } from './lib/wd-harness.mjs';
import { SCENARIOS } from './scenarios.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const MODULE = process.env.SHS_MODULE || path.join(REPO, '.libs', 'mod_sharedsession.so');
const CI = process.env.CI === 'true';
const KEEP = process.env.SHS_E2E_KEEP === '1';
const SCENARIO_TIMEOUT_MS = 60000 * SLOW;
const RUN_TIMEOUT_MS = 170000 * SLOW;

const log = (...a) => console.log(...a);
const results = []; // { name, outcome: 'passed'|'failed'|'skipped', why }
const transports = []; // { name, list: [{ what, how }] }: how each scenario's sites got the session
let server = null;
const openBrowsers = new Set();
// Last resort, synchronous: the processes a WebDriver browser started, by pid (Playwright
// stops its own browsers when this process ends).
function stopBrowsersNow() {
  for (const b of openBrowsers) b.stopNow?.();
}

function record(name, outcome, why = '') {
  results.push({ name, outcome, why });
  const tag = outcome === 'passed' ? 'PASS' : outcome === 'failed' ? 'FAIL' : 'SKIP';
  log(`${tag} ${name}${why ? (why.startsWith('(') ? ` ${why}` : `: ${why}`) : ''}`);
}

function summary() {
  const n = (o) => results.filter((r) => r.outcome === o).length;
  const skipped = n('skipped');
  return `${n('passed')} passed, ${n('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

function finish(code) {
  log(summary());
  process.exit(code ?? (results.some((r) => r.outcome === 'failed') ? 1 : 0));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// Missing components, as "what (Debian package X)" lines.
function missing(reqs) {
  return reqs.filter((r) => !fs.existsSync(r.what)).map((r) => `${r.what} (install the Debian package ${r.pkg})`);
}

async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch {
    return null;
  }
}

function summarizeLog(lines, indent = '  ') {
  const tags = {};
  for (const l of lines) for (const m of l.match(/SHS\d{5}/g) || []) tags[m] = (tags[m] || 0) + 1;
  const tagText = Object.entries(tags).sort().map(([k, v]) => `${k}x${v}`).join(' ');
  log(`${indent}error log: ${lines.length} line(s)${tagText ? `; tags ${tagText}` : ''}`);
  for (const l of lines.filter((x) => WARN_LINE.test(x) || BAD_LINE.test(x))) log(`${indent}  ${l}`);
  return lines.filter((l) => BAD_LINE.test(l));
}

// The module's endpoint requests in access-log lines ("%v %h \"%r\" %>s ..."), counted by host,
// endpoint and status: "b.test pull 302 x2, a.test attach 302 x2, b.test cb(pull) 302 x2, ...".
function endpointSummary(lines) {
  const counts = new Map();
  for (const l of lines) {
    const m = l.match(/^(\S+) \S+ "\S+ \/_shs\/(\w+)(\?\S*)? [^"]*" (\d+)/);
    if (!m) continue;
    const kind = m[2] === 'cb' ? (/[?&]r=/.test(m[3] || '') ? 'cb(pull)' : 'cb(push)') : m[2];
    const key = `${m[1]} ${kind} ${m[4]}`;
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  if (!counts.size) return 'no /_shs/ request';
  return `/_shs/ requests: ${[...counts].map(([k, n]) => `${k} x${n}`).join(', ')}`;
}

// The module's refusals in error-log lines (SHS00401 tokens refused, SHS00403 malformed state
// cookies, SHS00603 clients keeping no cookies, SHS00604 attaches refused, SHS00605/SHS00607
// attaches without a session), as "SHS00401 replayed"-style keys, each with its first line.
const REFUSAL = /(SHS00401): cross-domain token refused \(([^)]*)\)|(SHS0040[3]|SHS0060[357])\b|(SHS00604): attach request refused \(([^)]*)\)/;
function refusals(lines) {
  const out = new Map();
  for (const l of lines) {
    const m = REFUSAL.exec(l);
    if (!m) continue;
    const key = m[1] ? `${m[1]} ${m[2].split(':')[0]}` : m[4] ? `${m[4]} ${m[5].split(':')[0]}` : m[3];
    if (!out.has(key)) out.set(key, { n: 0, line: l });
    out.get(key).n++;
  }
  return out;
}

async function runScenario(sc, pw, errTail, accessTail) {
  const browser = BROWSERS[sc.browser];
  log(`\n== ${sc.name}: ${browser.label}`);
  const started = Date.now();
  const profile = fs.mkdtempSync(path.join(server.root, `profile-${sc.name}-`));
  let b = null;
  let launching = null;
  let harness = null;
  let failure = null;
  try {
    await withTimeout((async () => {
      launching = browser.launch(pw, profile, { ca: server.tls.ca, log });
      b = await launching;
      openBrowsers.add(b);
      if (b.tls) log(`  TLS: ${b.tls}`);
      if (browser.protocol === 'webdriver') {
        log(`  browser: ${b.version}; ${b.processes}`);
        harness = new WebDriverHarness({ server, browser, session: b, log });
      } else {
        b.context.setDefaultTimeout(10000 * SLOW);
        b.context.setDefaultNavigationTimeout(15000 * SLOW);
        const page = b.context.pages()[0] || await b.context.newPage();
        const cookies = await b.observeCookies(page);
        harness = new Harness({ server, browser, context: b.context, page, cookies, log });
      }
      await sc.flow(harness);
    })(), SCENARIO_TIMEOUT_MS, sc.name);
  } catch (e) {
    failure = e.message.split('\n')[0];
    if (e.name !== 'AssertionError' && e.stack) log(`  ${e.stack.split('\n').slice(0, 4).join('\n  ')}`);
  } finally {
    if (!b && launching) {
      // the time bound struck during the start: close the browser if it still comes up
      b = await withTimeout(launching, 60000 * SLOW, 'the browser start').catch(() => null);
      if (b) openBrowsers.add(b);
    }
    if (b) {
      // a WebDriver browser's close() stops several processes, each within a bound
      const bound = browser.protocol === 'webdriver' ? 30000 * SLOW : 10000;
      await withTimeout(b.close(), bound, 'closing the browser').catch((e) => log(`  ${e.message}`));
      openBrowsers.delete(b);
      const report = b.report?.() || [];
      for (const l of report) log(`  ${l}`);
      if (!failure && report.some((l) => /STILL RUNNING/.test(l))) failure = 'a process of the browser outlived close()';
    }
  }
  await new Promise((r) => setTimeout(r, 200)); // let httpd flush the last log lines
  log(`  access log: ${endpointSummary(accessTail.read())}`);
  const errLines = errTail.read();
  const bad = summarizeLog(errLines);
  if (!failure && bad.length) failure = `error log: ${bad[0]}`;
  if (sc.refusals) {
    // the scenario names the refusals it expects; any other one fails it
    const seen = refusals(errLines);
    log(`  refusals in the error log: ${[...seen].map(([k, v]) => `${k} x${v.n}`).join(', ') || 'none'} (expected at most: ${sc.refusals.join(', ') || 'none'})`);
    const unexpected = [...seen].filter(([k]) => !sc.refusals.includes(k));
    if (!failure && unexpected.length) failure = `unexpected refusal in the error log: ${unexpected[0][1].line}`;
  }
  if (harness?.reason) log(`  blocked-cookie reason reported by the browser: ${harness.reason}`);
  if (harness?.transports.length) {
    transports.push({ name: sc.name, list: harness.transports });
    log(`  transports: ${harness.transports.map((x) => `${x.what}: ${x.how}`).join('; ')}`);
  }
  record(sc.name, failure ? 'failed' : 'passed', `${failure ? `${failure} ` : ''}(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help') || args.includes('--list')) {
    log('usage: node tests/e2e/run.mjs [scenario ...]\nscenarios:');
    for (const s of SCENARIOS) log(`  ${s.name}  (${BROWSERS[s.browser].label})${s.extra ? ' [extra: runs only when named]' : ''}`);
    process.exit(0);
  }
  const unknown = args.filter((a) => !SCENARIOS.some((s) => s.name === a));
  if (unknown.length) {
    log(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  const selected = args.length ? SCENARIOS.filter((s) => args.includes(s.name)) : SCENARIOS.filter((s) => !s.extra);

  // What every scenario needs, then what each one's browser needs.
  let common;
  try {
    common = missing(serverRequirements());
  } catch (e) {
    for (const s of selected) record(s.name, 'failed', e.message);
    finish();
  }
  if (!fs.existsSync(MODULE)) {
    for (const s of selected) record(s.name, 'failed', `${MODULE} is missing: run make first (cd ${REPO} && make), or set SHS_MODULE`);
    finish();
  }
  const pw = await loadPlaywright();
  const runnable = [];
  for (const s of selected) {
    const browser = BROWSERS[s.browser];
    const gaps = [...common, ...missing(browser.requirements || [{ what: browser.executable, pkg: browser.pkg }])];
    if (!pw && browser.protocol !== 'webdriver') gaps.push(`tests/e2e/node_modules/playwright-core (run: npm ci --prefix ${path.relative(process.cwd(), HERE) || '.'})`);
    if (!gaps.length) runnable.push(s);
    else record(s.name, CI ? 'failed' : 'skipped', `missing ${gaps.join('; ')}`);
  }
  if (!runnable.length) finish();

  log(`module ${MODULE}`);
  server = new Server({ module: MODULE, log, keep: KEEP });
  try {
    await withTimeout(server.start(), 60000, 'starting the servers');
  } catch (e) {
    log(e.message);
    await server.stop();
    for (const s of runnable) record(s.name, 'failed', 'the servers did not start');
    if (KEEP) log(`kept ${server.root}`);
    else server.removeFiles();
    finish();
  }
  const errTail = new LogTail(server.errorLog);
  const accessTail = new LogTail(server.accessLog);
  log('\n== start-up');
  const startBad = summarizeLog(errTail.read());

  for (const s of runnable) await runScenario(s, pw, errTail, accessTail);

  if (transports.length) {
    log('\n== transports: how each site got (or lost) the session, per scenario');
    for (const t of transports) {
      log(`  ${t.name}:`);
      for (const x of t.list) log(`    ${x.what}: ${x.how}`);
    }
  }

  log('\n== server-error-log: httpd stopped, whole error log checked');
  const stopProblems = await server.stop();
  const rest = summarizeLog(errTail.read());
  const all = new LogTail(server.errorLog).read();
  const bad = all.filter((l) => BAD_LINE.test(l));
  log(`  whole log: ${all.length} line(s), ${all.filter((l) => WARN_LINE.test(l)).length} warn, ${bad.length} error/crit/exit signal`);
  const why = bad.length ? (startBad[0] || rest[0] || bad[0]) : stopProblems.length ? `stopping the servers: ${stopProblems[0]}` : '';
  record('server-error-log', why ? 'failed' : 'passed', why);
  if (KEEP) log(`kept ${server.root}`);
  else server.removeFiles();
  finish();
}

// Bounds and clean-up whatever happens.
const watchdog = setTimeout(() => {
  log(`\nthe whole run took more than ${RUN_TIMEOUT_MS / 1000} s: stopping`);
  for (const s of SCENARIOS) {
    if (!results.some((r) => r.name === s.name) && (process.argv.length <= 2 ? !s.extra : process.argv.includes(s.name))) {
      results.push({ name: s.name, outcome: 'failed', why: 'run timed out' });
    }
  }
  stopBrowsersNow();
  server?.stopNow();
  if (server?.root) log(`left ${server.root} for inspection`);
  finish(1);
}, RUN_TIMEOUT_MS);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`\n${sig}: stopping`);
    stopBrowsersNow();
    server?.stopNow();
    process.exit(130);
  });
}
process.on('exit', () => {
  stopBrowsersNow();
  server?.stopNow();
});

main().catch((e) => {
  log(e.stack || String(e));
  stopBrowsersNow();
  server?.stopNow();
  results.push({ name: 'runner', outcome: 'failed', why: e.message });
  finish(1);
});
