// The server side of the end-to-end tests: memcached, a throwaway CA and certificate, and
// httpd with mod_ssl + mod_sharedsession serving the demo's legacy PHP shop (php-cgi) as
// a.test, b.test and c.test on one https port of 127.0.0.1, one group whose hub is a.test.
//
// Everything lives in one temporary directory.  Processes started here are remembered by pid
// and stopped by pid; every wait has a time bound.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const APACHE2 = process.env.SHS_APACHE2 || '/usr/sbin/apache2';
export const MODULES_DIR = process.env.SHS_APACHE_MODULES || '/usr/lib/apache2/modules';
export const MEMCACHED = process.env.SHS_MEMCACHED || '/usr/bin/memcached';
export const PHP_CGI = '/usr/lib/cgi-bin/php';
export const OPENSSL = '/usr/bin/openssl';
export const HOSTS = ['a.test', 'b.test', 'c.test'];
// The hub of the group (SharedSessionHub): where users log in; the others pull from it.
export const HUB = 'a.test';

// LoadModule order matters: mod_session before mod_sharedsession (added last).  log_config
// and unixd are compiled into Debian's httpd: loading them again is an error.
const MODULES = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['mime_module', 'mod_mime.so'],
  ['dir_module', 'mod_dir.so'],
  ['alias_module', 'mod_alias.so'],
  ['actions_module', 'mod_actions.so'],
  ['cgid_module', 'mod_cgid.so'],
  ['env_module', 'mod_env.so'],
  ['ssl_module', 'mod_ssl.so'],
  ['socache_shmcb_module', 'mod_socache_shmcb.so'],
  ['session_module', 'mod_session.so'],
  ['setenvif_module', 'mod_setenvif.so'],
];

// What the server needs, with the Debian package that provides it.
export function serverRequirements() {
  return [
    { what: APACHE2, pkg: 'apache2' },
    { what: path.join(MODULES_DIR, 'mod_ssl.so'), pkg: 'apache2' },
    { what: path.join(MODULES_DIR, 'mod_session.so'), pkg: 'apache2' },
    { what: path.join(MODULES_DIR, 'mod_setenvif.so'), pkg: 'apache2' },
    { what: MEMCACHED, pkg: 'memcached' },
    { what: PHP_CGI, pkg: 'php-cgi' },
    { what: OPENSSL, pkg: 'openssl' },
  ];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

async function waitFor(what, ms, fn, step = 100) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(step);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

function openssl(args, cwd) {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
}

// A throwaway CA and one certificate for all three names.
function makeCerts(dir) {
  fs.mkdirSync(dir, { mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
    '-subj', '/CN=mod_sharedsession e2e throwaway CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=a.test'], dir);
  fs.writeFileSync(path.join(dir, 'server.ext'),
    `subjectAltName=${HOSTS.map((h) => `DNS:${h}`).join(',')}\n` +
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  return { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
}

function copyTree(src, dst) {
  fs.cpSync(src, dst, { recursive: true });
  const walk = (p) => {
    const st = fs.statSync(p);
    fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dst);
}

export class Server {
  constructor({ module, appDir, log = console.log, keep = false }) {
    this.module = module;
    this.appDir = appDir;
    this.log = log;
    this.keep = keep;
    this.root = null;
    this.port = null;
    this.mcPort = null;
    this.mcPid = null;
    this.httpdPid = null;
    this.stopped = false;
  }

  site(host) {
    return `https://${host}:${this.port}`;
  }

  get errorLog() {
    return path.join(this.root, 'logs', 'error.log');
  }

  get accessLog() {
    return path.join(this.root, 'logs', 'access.log');
  }

  async start() {
    const isRoot = process.getuid && process.getuid() === 0;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'shs-e2e-'));
    fs.chmodSync(this.root, 0o755); // www-data reads the app below it
    const logs = path.join(this.root, 'logs');
    fs.mkdirSync(logs);
    if (isRoot) {
      const ids = spawnSync('id', ['-u', 'www-data'], { encoding: 'utf8', timeout: 5000 });
      const uid = parseInt(ids.stdout, 10);
      if (Number.isInteger(uid)) fs.chownSync(logs, uid, -1); // cgid's socket
    }
    const app = path.join(this.root, 'app');
    copyTree(this.appDir, app);
    // the shop keeps PHP's own sessions in PHP's files store, one directory for all sites
    this.phpDir = path.join(this.root, 'php');
    this.phpSessions = path.join(this.root, 'php-sessions');
    fs.mkdirSync(this.phpDir, { mode: 0o755 });
    fs.mkdirSync(this.phpSessions, { mode: 0o1777 });
    fs.chmodSync(this.phpSessions, 0o1777);
    fs.writeFileSync(path.join(this.phpDir, 'php.ini'),
      `session.save_path = "${this.phpSessions}"\nsession.use_strict_mode = 1\nsession.cookie_httponly = 1\n`, { mode: 0o644 });
    this.tls = makeCerts(path.join(this.root, 'tls'));
    const keyFile = path.join(this.root, 'sharedsession.key');
    const secret = execFileSync(OPENSSL, ['rand', '-base64', '32'], { encoding: 'utf8', timeout: 10000 }).trim();
    fs.writeFileSync(keyFile, `1 ${secret}\n`, { mode: 0o600 });

    await this.startMemcached(isRoot);
    await this.startHttpd(isRoot, app, keyFile);
  }

  async startMemcached(isRoot) {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '32', '-c', '256'];
      if (isRoot) args.push('-u', 'nobody');
      const out = fs.openSync(path.join(this.root, 'logs', 'memcached.log'), 'a');
      const child = spawn(MEMCACHED, args, { stdio: ['ignore', out, out], detached: false });
      fs.closeSync(out);
      child.unref();
      let exited = null;
      child.on('exit', (code, sig) => { exited = `exit ${code ?? sig}`; });
      this.mcPid = child.pid;
      try {
        await waitFor(`memcached on 127.0.0.1:${port}`, 5000, async () => {
          if (exited) throw new Error(`memcached ended at start (${exited}), see ${this.root}/logs/memcached.log`);
          return tcpOpen(port);
        });
        this.mcPort = port;
        this.log(`memcached pid ${this.mcPid} on 127.0.0.1:${port}`);
        return;
      } catch (e) {
        this.killMemcached();
        if (attempt >= 3) throw e;
      }
    }
  }

  config(isRoot, app, keyFile) {
    const r = this.root;
    const port = this.port;
    const sites = HOSTS.map((h) => this.site(h)).join(' ');
    const vhosts = HOSTS.map((h) => `
<VirtualHost 127.0.0.1:${port}>
    ServerName ${h}
    DocumentRoot "${app}"
    SSLEngine on
    SSLCertificateFile "${this.tls.cert}"
    SSLCertificateKeyFile "${this.tls.key}"
    SetEnv DEMO_SITES "${sites}"
    SetEnv PHPRC "${this.phpDir}"
    Session On
    SessionEnv On
    SessionHeader X-Replace-Session
    SessionMaxAge 3600
    SharedSession On
    SharedSessionAppCookie PHPSESSID
</VirtualHost>`).join('\n');
    return `# generated by tests/e2e/lib/server.mjs
ServerRoot "${r}"
ServerName localhost
DefaultRuntimeDir "${r}/logs"
PidFile "${r}/logs/httpd.pid"
ErrorLog "${r}/logs/error.log"
LogLevel warn sharedsession:debug
Listen 127.0.0.1:${port} https
${isRoot ? 'User www-data\nGroup www-data' : ''}
${MODULES.map(([name, file]) => `LoadModule ${name} ${path.join(MODULES_DIR, file)}`).join('\n')}
LoadModule sharedsession_module ${this.module}
TypesConfig /etc/mime.types
ScriptSock "${r}/logs/cgid.sock"
# Two fields for the WebDriver harness (lib/wd-harness.mjs), which rebuilds redirect chains
# and transports from them: the Location of redirects, and the start of the id cookie the
# request carried, read when the request arrives (the module then takes its cookies out of the
# request, so %{shs_session}C would never show it).  Throwaway server: tokens and ids in its
# logs do not matter.
SetEnvIf Cookie "(?:^|;\\s*)shs_session=([^;]{1,16})" SHS_E2E_SENT_ID=$1
CustomLog "${r}/logs/access.log" "%v %h \\"%r\\" %>s \\"%{Location}o\\" %<{SHS_E2E_SENT_ID}e"
SSLSessionCache "shmcb:${r}/logs/ssl_scache(512000)"
Mutex "file:${r}/logs" default
DirectoryIndex index.php
# the classic legacy setup: PHP through php-cgi, reached by an internal redirect
ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
Action application/x-httpd-php /cgi-bin/php
AddType application/x-httpd-php .php
<Directory /usr/lib/cgi-bin>
    Require all granted
</Directory>
<Directory "${app}">
    Require all granted
</Directory>
<Files "_*">
    Require all denied
</Files>

SharedSessionMemcache 127.0.0.1:${this.mcPort}
SharedSessionKeyFile "${keyFile}"
SharedSessionGroup e2e ${sites}
SharedSessionHub e2e ${this.site(HUB)}
${vhosts}
`;
  }

  async startHttpd(isRoot, app, keyFile) {
    this.conf = path.join(this.root, 'httpd.conf');
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      fs.writeFileSync(this.conf, this.config(isRoot, app, keyFile));
      const res = spawnSync(APACHE2, ['-f', this.conf, '-k', 'start'], { encoding: 'utf8', timeout: 30000 });
      if (res.status === 0) break;
      const msg = `${res.stdout || ''}${res.stderr || ''}`.trim() || String(res.error || `exit ${res.status}`);
      let errlog = '';
      try { errlog = fs.readFileSync(this.errorLog, 'utf8').trim().split('\n').slice(-5).join('\n'); } catch { /* none */ }
      if (attempt < 3 && /already in use/.test(msg + errlog)) continue;
      throw new Error(`httpd did not start: ${msg}${errlog ? `\n${errlog}` : ''}`);
    }
    const pidFile = path.join(this.root, 'logs', 'httpd.pid');
    this.httpdPid = await waitFor('httpd pid file', 10000, () => {
      try {
        const pid = parseInt(fs.readFileSync(pidFile, 'utf8'), 10);
        return Number.isInteger(pid) && pid > 0 ? pid : null;
      } catch { return null; }
    });
    // ready when a.test answers over TLS with a certificate our CA signed for it
    await waitFor(`httpd on https://a.test:${this.port}/`, 15000, async () => {
      const r = await this.probe('a.test', '/whoami.php').catch(() => null);
      return r && r.status === 200;
    }, 200);
    this.log(`httpd pid ${this.httpdPid} on https://{${HOSTS.join(',')}}:${this.port} (root ${this.root})`);
  }

  // One request straight from Node (certificate checked against the throwaway CA).
  probe(host, urlPath) {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: this.port, servername: host, path: urlPath, method: 'GET',
        headers: { Host: `${host}:${this.port}` }, ca: fs.readFileSync(this.tls.ca), timeout: 3000,
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  killMemcached() {
    if (this.mcPid && alive(this.mcPid)) {
      try { process.kill(this.mcPid, 'SIGTERM'); } catch { /* gone */ }
    }
  }

  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.httpdPid) {
      const pid = this.httpdPid;
      if (alive(pid)) {
        try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
        const gone = await waitFor('httpd to stop', 10000, () => !alive(pid)).catch(() => false);
        if (!gone) {
          this.log(`httpd pid ${pid} did not stop in 10 s: SIGKILL`);
          try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        }
      }
    }
    if (this.mcPid) {
      const pid = this.mcPid;
      this.killMemcached();
      await waitFor('memcached to stop', 5000, () => !alive(pid)).catch(() => {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      });
    }
  }

  // Last resort, synchronous (process exit): signal what is still running.
  stopNow() {
    for (const pid of [this.httpdPid, this.mcPid]) {
      if (pid && alive(pid)) {
        try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      }
    }
  }

  removeFiles() {
    if (this.root && !this.keep) fs.rmSync(this.root, { recursive: true, force: true });
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
