// WebKit (Safari's engine): Debian's WebKitGTK MiniBrowser driven by WebKitWebDriver over W3C
// WebDriver (lib/webdriver.mjs), on an Xvfb display.  Playwright's WebKit needs its own
// patched build; this is the stock one from Debian.
//
// launch() starts an in-process forward proxy (lib/proxy.mjs) that sends *.test to 127.0.0.1
// and refuses every other destination (WebKitGTK has no host-resolver switch; /etc/hosts is
// left alone), then, each remembered by pid: Xvfb on a display it picks itself (-displayfd),
// and WebKitWebDriver on a free port with DISPLAY and the proxy in its environment (see
// proxyEnv); then a WebDriver session, for which the driver starts MiniBrowser with
// --automation and, for ITP, --enable-itp (checked on the browser's command line).  close()
// ends the session and stops the driver, the browser processes left behind and Xvfb, by pid;
// stopNow() is the synchronous last resort (process exit, signal, watchdog).  Every wait is
// bounded.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { alive, freePort, signal, sleep, stopPids } from './proc.mjs';
import { TestProxy } from './proxy.mjs';
import { WebDriver } from './webdriver.mjs';

export const XVFB = process.env.SHS_XVFB || '/usr/bin/Xvfb';
export const WEBKIT_DRIVER = process.env.SHS_WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.SHS_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
// GLib's proxy resolver that reads http_proxy & co. (see proxyEnv below)
export const GIO_LIBPROXY = '/usr/lib/x86_64-linux-gnu/gio/modules/libgiolibproxy.so';

// The pids of PID's descendants (from /proc: parent pid of every process), children first.
export function descendants(pid) {
  const parent = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(e), ppid);
    } catch { /* gone meanwhile */ }
  }
  const out = [];
  const walk = (p) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

function exeOf(pid) {
  try { return fs.realpathSync(`/proc/${pid}/exe`); } catch { return null; }
}

function cmdlineOf(pid) {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean); } catch { return []; }
}

// Xvfb on the first free display (it reports the number on fd 3); its pid and display.
async function startXvfb(dir, ms) {
  const log = fs.openSync(path.join(dir, 'xvfb.log'), 'a');
  const child = spawn(XVFB, ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x1024x24'], {
    stdio: ['ignore', log, log, 'pipe'],
  });
  fs.closeSync(log);
  let exited = null;
  child.on('exit', (code, sig) => { exited = `exit ${code ?? sig}`; });
  child.on('error', (e) => { exited = e.message; });
  let text = '';
  child.stdio[3].setEncoding('utf8');
  child.stdio[3].on('data', (d) => { text += d; });
  const end = Date.now() + ms;
  while (!/^\d+\n/.test(text)) {
    if (exited) throw new Error(`Xvfb ended at start (${exited}), see ${dir}/xvfb.log`);
    if (Date.now() > end) {
      await stopPids([child.pid], 2000);
      throw new Error(`Xvfb reported no display within ${ms / 1000} s, see ${dir}/xvfb.log`);
    }
    await sleep(50);
  }
  child.stdio[3].destroy();
  child.unref();
  return { pid: child.pid, display: `:${parseInt(text, 10)}` };
}

// WebKitWebDriver on a free port of 127.0.0.1, ready when /status says so.
async function startDriver(dir, extraEnv, ms) {
  // this machine's desktop, if any, must not leak in: the browser goes to the Xvfb display
  // (not a Wayland one), and the proxy resolver reads the variables below, not a desktop's
  // proxy settings
  const env = { ...process.env, GDK_BACKEND: 'x11', ...extraEnv };
  for (const v of ['WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP', 'DESKTOP_SESSION', 'GNOME_DESKTOP_SESSION_ID', 'KDE_FULL_SESSION', 'XAUTHORITY']) delete env[v];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = fs.openSync(path.join(dir, 'webkitwebdriver.log'), 'a');
    const child = spawn(WEBKIT_DRIVER, [`--port=${port}`, '--host=local'], {
      stdio: ['ignore', log, log],
      env,
    });
    fs.closeSync(log);
    child.unref();
    let exited = null;
    child.on('exit', (code, sig) => { exited = `exit ${code ?? sig}`; });
    child.on('error', (e) => { exited = e.message; });
    const driver = new WebDriver(`http://127.0.0.1:${port}`);
    const end = Date.now() + ms;
    for (;;) {
      if (exited) break;
      const st = await driver.status(1000).catch(() => null);
      if (st && st.ready !== false) return { pid: child.pid, port, driver };
      if (Date.now() > end) break;
      await sleep(100);
    }
    await stopPids([child.pid], 2000);
    if (attempt >= 3 || !exited) throw new Error(`WebKitWebDriver did not answer on 127.0.0.1:${port}${exited ? ` (${exited})` : ` within ${ms / 1000} s`}, see ${dir}/webkitwebdriver.log`);
  }
}

// The proxy, as the environment of WebKitWebDriver and of the MiniBrowser it starts: GLib's
// libproxy resolver (glib-networking) reads these variables; the "proxy" capability says
// "system", i.e. use them.  The capability's manual form cannot be used: WebKitGTK makes its
// sslProxy an https:// proxy (TLS to the proxy itself, whose certificate would have to be in
// the system's trust store), so https could not go through a plain CONNECT proxy.  The
// driver's own connection to the browser (127.0.0.1) must not go through it: no_proxy.
function proxyEnv(port) {
  const url = `http://127.0.0.1:${port}`;
  return {
    GIO_USE_PROXY_RESOLVER: 'libproxy',
    http_proxy: url, https_proxy: url, HTTP_PROXY: url, HTTPS_PROXY: url,
    no_proxy: '127.0.0.1,localhost,::1', NO_PROXY: '127.0.0.1,localhost,::1',
    all_proxy: '', ALL_PROXY: '',
  };
}

// ITP on or off; COOKIESPOLICY: MiniBrowser's own cookie policy (--cookies-policy: always,
// never, no-third-party; its default no-third-party when not given); SLOW multiplies the time
// bounds.
export function webkitProfile({ label, itp, cookiesPolicy = null, slow = 1 }) {
  const requirements = [
    { what: WEBKIT_DRIVER, pkg: 'webkit2gtk-driver' },
    { what: MINIBROWSER, pkg: 'libwebkit2gtk-4.1-0' },
    { what: XVFB, pkg: 'xvfb' },
    { what: GIO_LIBPROXY, pkg: 'glib-networking' },
  ];
  return {
    engine: 'webkit',
    protocol: 'webdriver',
    pkg: 'webkit2gtk-driver',
    executable: WEBKIT_DRIVER,
    requirements,
    label,
    itp,
    thirdPartyCookies: itp || cookiesPolicy !== 'always' ? 'blocked' : 'allowed',
    async launch(_pw, dir, { log = () => {} } = {}) {
      const b = {
        engine: 'webkit', xvfb: null, driverPid: null, browserPids: [], proxy: null, driver: null, started: [],
        tls: 'acceptInsecureCerts (WebKitGTK WebDriver has no way to add a CA)',
      };
      b.stopNow = () => {
        for (const p of [b.driverPid, ...b.browserPids, ...(b.driverPid ? descendants(b.driverPid) : []), b.xvfb?.pid]) {
          if (p && alive(p)) signal(p, 'SIGTERM');
        }
      };
      // after close(): where the proxy let the browser go, what it refused, and that every
      // process started for this browser is gone
      b.report = () => {
        const stats = b.proxyStats;
        const left = b.started.filter(alive);
        return [
          `proxy: to 127.0.0.1 for ${stats ? TestProxy.list(stats.allowed) : '?'}; refused: ${stats ? TestProxy.list(stats.refused) : '?'}`,
          `processes: ${b.started.length} started for this browser, ${left.length ? `STILL RUNNING: ${left.join(' ')}` : 'all stopped'}`,
        ];
      };
      b.close = async () => {
        if (b.driver?.sessionId) {
          await b.driver.deleteSession(10000 * slow).catch((e) => log(`  ending the WebDriver session: ${e.message}`));
        }
        if (b.driverPid) {
          const kids = descendants(b.driverPid);
          b.started.push(...kids.filter((p) => !b.started.includes(p)));
          const left = await stopPids([b.driverPid], 5000 * slow);
          const leftKids = await stopPids([...new Set([...kids, ...b.browserPids])], 5000 * slow);
          if (left.length + leftKids.length) log(`  killed (SIGKILL) pid(s) ${[...left, ...leftKids].join(' ')}`);
          b.driverPid = null;
        }
        if (b.xvfb) {
          await stopPids([b.xvfb.pid], 5000 * slow);
          b.xvfb = null;
        }
        if (b.proxy) {
          const p = b.proxy;
          b.proxy = null;
          b.proxyStats = { allowed: p.allowed, refused: p.refused };
          await Promise.race([p.stop(), sleep(5000)]);
        }
      };
      try {
        b.proxy = new TestProxy();
        const proxyPort = await b.proxy.start();
        b.xvfb = await startXvfb(dir, 10000 * slow);
        b.started.push(b.xvfb.pid);
        const d = await startDriver(dir, { DISPLAY: b.xvfb.display, ...proxyEnv(proxyPort) }, 10000 * slow);
        b.driverPid = d.pid;
        b.started.push(d.pid);
        b.driver = d.driver;
        b.driver.timeout = 30000 * slow;
        await b.driver.newSession({
          browserName: 'MiniBrowser',
          acceptInsecureCerts: true,
          proxy: { proxyType: 'system' },
          'webkitgtk:browserOptions': {
            binary: MINIBROWSER,
            args: ['--automation', ...(itp ? ['--enable-itp'] : []), ...(cookiesPolicy ? [`--cookies-policy=${cookiesPolicy}`] : [])],
          },
        }, 30000 * slow);
        b.browserPids = descendants(b.driverPid);
        b.started.push(...b.browserPids);
        const caps = b.driver.capabilities || {};
        b.version = `${caps.browserName || '?'} ${caps.browserVersion || '?'}`;
        // the browser's own command line, from /proc: ITP must really be on
        const mini = b.browserPids.find((p) => exeOf(p) === fs.realpathSync(MINIBROWSER));
        b.browserArgs = mini ? cmdlineOf(mini).slice(1) : null;
        if (!b.browserArgs) throw new Error(`no ${MINIBROWSER} among the driver's processes (${b.browserPids.join(' ') || 'none'})`);
        if (itp && !b.browserArgs.includes('--enable-itp')) throw new Error(`MiniBrowser runs without --enable-itp: ${b.browserArgs.join(' ')}`);
        b.processes = `Xvfb pid ${b.xvfb.pid} on ${b.xvfb.display}, WebKitWebDriver pid ${b.driverPid} on 127.0.0.1:${d.port}, `
          + `MiniBrowser pid ${mini} (${b.browserArgs.join(' ')}), web/network processes ${b.browserPids.filter((p) => p !== mini).join(' ') || 'none yet'}, `
          + `proxy on 127.0.0.1:${proxyPort}`;
        await b.driver.setTimeouts({ pageLoad: 15000 * slow, script: 10000 * slow, implicit: 0 });
      } catch (e) {
        await b.close();
        throw e;
      }
      return b;
    },
  };
}
