// The browsers the scenarios run in.  A browser here is a named profile: an engine, the
// Debian package and executable that provide it, and its cookie policy.  To add one, add an
// entry to BROWSERS (e.g. Firefox ESR with network.cookie.cookieBehavior 5 or 1 through
// firefoxProfile below) and a scenario that names it in scenarios.mjs.
//
// launch() returns { context, close(), observeCookies(page) }: observeCookies resolves to a
// recorder of the cookies the browser refused and why ({ events }), or to null where the
// engine cannot tell (it is CDP-only).

import fs from 'node:fs';
import path from 'node:path';

const isRoot = process.getuid && process.getuid() === 0;

function chromiumProfile({ label, cookieControlsMode }) {
  const executable = process.env.SHS_CHROMIUM || '/usr/bin/chromium';
  return {
    engine: 'chromium',
    pkg: 'chromium',
    executable,
    label,
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
        timeout: 30000,
        args: [
          '--host-resolver-rules=MAP *.test 127.0.0.1',
          ...(isRoot ? ['--no-sandbox'] : []),
          '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync',
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
  await cdp.send('Network.enable');
  return { events, detach: () => cdp.detach().catch(() => {}) };
}

// Firefox ESR, for a later change (no scenario uses it yet).  Debian's firefox-esr is a stock
// Firefox: Playwright's own protocol (Juggler) needs its patched build, so only WebDriver
// BiDi (channel "moz-firefox") can drive it.  Checked with playwright-core 1.65.1 and
// firefox-esr 153: the browser launches, but creating a context fails with "Protocol error
// (emulation.setMediaFeaturesOverride): unknown command", so this needs another
// playwright-core version (or driver) before a Firefox scenario can be added.
function firefoxProfile({ label, cookieBehavior }) {
  const executable = process.env.SHS_FIREFOX || '/usr/bin/firefox-esr';
  return {
    engine: 'firefox',
    pkg: 'firefox-esr',
    executable,
    label,
    async launch(pw, dir) {
      const context = await pw.firefox.launchPersistentContext(dir, {
        channel: 'moz-firefox',
        executablePath: executable,
        headless: true,
        ignoreHTTPSErrors: true,
        timeout: 30000,
        firefoxUserPrefs: {
          'network.dns.forceResolve': '127.0.0.1',
          'network.cookie.cookieBehavior': cookieBehavior,
        },
      });
      return { context, close: () => context.close(), observeCookies: async () => null };
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
  // 'firefox-esr-cb5': firefoxProfile({ label: 'Firefox ESR, Total Cookie Protection', cookieBehavior: 5 }),
  // 'firefox-esr-cb1': firefoxProfile({ label: 'Firefox ESR, third-party cookies blocked', cookieBehavior: 1 }),
};

export { firefoxProfile };
