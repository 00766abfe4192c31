// The browsers the scenarios run in.  A browser here is a named profile: an engine, the
// Debian package and executable that provide it (or, as `requirements`, every file it needs
// with its package), and its cookie policy.  To add one, add an entry to BROWSERS and a
// scenario that names it in scenarios.mjs.
//
// Playwright browsers: launch(pw, dir, { ca }) returns { context, close(), observeCookies(page) }:
// observeCookies resolves to a recorder of the cookies the browser refused and why ({ events })
// and of the bounce-tracking mitigation's reports ({ bounceIssues }), or to null where the
// engine cannot tell (it is CDP-only).  WebDriver browsers (protocol 'webdriver',
// lib/webkit.mjs): launch() returns { driver, close(), stopNow(), report(), ... } and their
// scenarios get lib/wd-harness.mjs instead of lib/harness.mjs.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { webkitProfile } from './webkit.mjs';

const isRoot = process.getuid && process.getuid() === 0;

// SHS_E2E_SLOW=N multiplies every time bound of the run (browser start, page waits, scenario,
// whole run) for a loaded machine; 1 by default.
export const SLOW = Math.max(1, Number(process.env.SHS_E2E_SLOW) || 1);

function chromiumProfile({ label, cookieControlsMode, features = [] }) {
  const executable = process.env.SHS_CHROMIUM || '/usr/bin/chromium';
  return {
    engine: 'chromium',
    pkg: 'chromium',
    executable,
    label,
    thirdPartyCookies: cookieControlsMode === 0 ? 'allowed' : 'blocked',
    async launch(pw, dir) {
      // Persistent profile: its Preferences decide the third-party cookie policy
      // (profile.cookie_controls_mode: 0 = allowed, as Google Chrome's default;
      // 1 = blocked, as Debian's chromium ships).
      fs.mkdirSync(path.join(dir, 'Default'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'Default', 'Preferences'),
        JSON.stringify({ profile: { cookie_controls_mode: cookieControlsMode } }));
      const context = await pw.chromium.launchPersistentContext(dir, {
        executablePath: executable,
        headless: true,
        ignoreHTTPSErrors: true,
        timeout: 30000 * SLOW,
        args: [
          '--host-resolver-rules=MAP *.test 127.0.0.1',
          ...(isRoot ? ['--no-sandbox'] : []),
          '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync',
          ...(features.length ? [`--enable-features=${features.join(',')}`] : []),
        ],
      });
      return {
        context,
        close: () => context.close(),
        observeCookies: (page) => observeChromiumCookies(context, page),
      };
    },
  };
}

// CDP: why a Set-Cookie was refused (responseReceivedExtraInfo.blockedCookies) or a cookie
// not sent (requestWillBeSentExtraInfo.associatedCookies), and exemptions that let one pass.
async function observeChromiumCookies(context, page) {
  const cdp = await context.newCDPSession(page);
  const urls = new Map();
  const events = [];
  const urlOf = (id) => urls.get(id) || `(request ${id})`;
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.responseReceivedExtraInfo', (e) => {
    for (const b of e.blockedCookies || []) {
      events.push({
        kind: 'set-cookie-blocked', requestId: e.requestId, get url() { return urlOf(e.requestId); },
        name: b.cookie?.name ?? String(b.cookieLine || '').split('=')[0],
        reasons: b.blockedReasons || [],
      });
    }
    for (const x of e.exemptedCookies || []) {
      events.push({
        kind: 'set-cookie-exempted', requestId: e.requestId, get url() { return urlOf(e.requestId); },
        name: x.cookie?.name, reasons: [x.exemptionReason],
      });
    }
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    for (const a of e.associatedCookies || []) {
      if (a.blockedReasons?.length) {
        events.push({
          kind: 'cookie-not-sent', requestId: e.requestId, get url() { return urlOf(e.requestId); },
          name: a.cookie?.name, reasons: a.blockedReasons,
        });
      }
    }
  });
  // the bounce-tracking mitigation (DIPS/BTM) reports the sites whose state it deletes
  const bounceIssues = [];
  cdp.on('Audits.issueAdded', (e) => {
    const d = e.issue?.details?.bounceTrackingIssueDetails;
    if (d) bounceIssues.push({ at: Date.now(), sites: d.trackingSites || [] });
  });
  await cdp.send('Network.enable');
  await cdp.send('Audits.enable');
  return { events, bounceIssues, detach: () => cdp.detach().catch(() => {}) };
}

// Firefox ESR.  Debian's firefox-esr is a stock Firefox: Playwright's own protocol (Juggler)
// needs its patched build, so WebDriver BiDi (channel "moz-firefox") drives it.  This needs
// playwright-core 1.64.1: 1.65 sends emulation.setMediaFeaturesOverride when it creates any
// context (persistent or not, whatever the options), which firefox-esr 153 does not know
// ("unknown command").  Names resolve through network.dns.forceResolve; the throwaway CA is
// trusted in the profile's own NSS database (certutil, from libnss3-tools), so no certificate
// error is overridden; without certutil, ignoreHTTPSErrors (BiDi acceptInsecureCerts) instead.
// Playwright's profile sets browser.contentblocking.features.standard to its own list, so
// Firefox files the profile under the "custom" category; the cookie policy is the pref below.
export const CERTUTIL = '/usr/bin/certutil';

function trustCa(dir, ca) {
  const db = `sql:${dir}`;
  execFileSync(CERTUTIL, ['-N', '-d', db, '--empty-password'], { stdio: 'pipe', timeout: 10000 });
  execFileSync(CERTUTIL, ['-A', '-d', db, '-n', 'mod_sharedsession e2e CA', '-t', 'C,,', '-i', ca], { stdio: 'pipe', timeout: 10000 });
}

function firefoxProfile({ label, cookieBehavior }) {
  const executable = process.env.SHS_FIREFOX || '/usr/bin/firefox-esr';
  return {
    engine: 'firefox',
    pkg: 'firefox-esr',
    executable,
    label,
    thirdPartyCookies: { 0: 'allowed', 1: 'blocked', 5: 'partitioned' }[cookieBehavior] ?? `cookieBehavior ${cookieBehavior}`,
    async launch(pw, dir, { ca } = {}) {
      const trusted = Boolean(ca && fs.existsSync(CERTUTIL));
      if (trusted) trustCa(dir, ca);
      const context = await pw.firefox.launchPersistentContext(dir, {
        channel: 'moz-firefox',
        executablePath: executable,
        headless: true,
        ignoreHTTPSErrors: !trusted,
        timeout: 30000 * SLOW,
        firefoxUserPrefs: {
          'network.dns.forceResolve': '127.0.0.1',
          'network.cookie.cookieBehavior': cookieBehavior,
          'network.cookie.cookieBehavior.pbmode': cookieBehavior,
        },
      });
      return {
        context,
        tls: trusted ? 'CA trusted in the profile (certutil)' : `ignoreHTTPSErrors (${CERTUTIL} missing: install libnss3-tools)`,
        close: () => context.close(),
        observeCookies: async () => null,
      };
    },
  };
}

export const BROWSERS = {
  'chromium-3p-allowed': chromiumProfile({
    label: "Debian's Chromium, third-party cookies allowed (Google Chrome's default)",
    cookieControlsMode: 0,
  }),
  'chromium-3p-blocked': chromiumProfile({
    label: "Debian's Chromium, third-party cookies blocked (its default)",
    cookieControlsMode: 1,
  }),
  // Chromium's bounce-tracking mitigation (DIPS, active when third-party cookies are blocked)
  // with its one-hour grace period and timer cut to seconds
  'chromium-3p-blocked-dips': chromiumProfile({
    label: "Debian's Chromium, third-party cookies blocked, bounce-tracking mitigation after 1 s (DIPS:grace_period/1s/timer_delay/2s)",
    cookieControlsMode: 1,
    features: ['DIPS:grace_period/1s/timer_delay/2s'],
  }),
  'firefox-cb5': firefoxProfile({
    label: 'Firefox ESR, cookieBehavior 5: third-party cookies partitioned (Total Cookie Protection, its default)',
    cookieBehavior: 5,
  }),
  'firefox-cb1': firefoxProfile({
    label: 'Firefox ESR, cookieBehavior 1: third-party cookies blocked',
    cookieBehavior: 1,
  }),
  // WebKit, Safari's engine: WebKitGTK's MiniBrowser over W3C WebDriver (lib/webkit.mjs), with
  // Intelligent Tracking Prevention on (--enable-itp): third-party cookies blocked, as in Safari
  'webkit-itp': webkitProfile({
    label: "WebKitGTK's MiniBrowser over WebDriver, Intelligent Tracking Prevention on (Safari's engine and cookie policy)",
    itp: true,
    slow: SLOW,
  }),
  // the control: no ITP, MiniBrowser's cookie policy "always" (third-party cookies allowed):
  // WebKit then keeps the push's cookies
  'webkit-3p-allowed': webkitProfile({
    label: "WebKitGTK's MiniBrowser over WebDriver, no ITP, third-party cookies allowed (--cookies-policy=always)",
    itp: false,
    cookiesPolicy: 'always',
    slow: SLOW,
  }),
};
