// The scenarios: each runs in a fresh profile of the browser it names (lib/browsers.mjs),
// against the one server of the run.  A flow is written once and can be given to several
// browsers: add { name, browser, flow } entries to SCENARIOS.
//
// The server's group has a hub (SharedSessionHub e2e https://a.test:PORT): a.test is where
// users log in; a top-level navigation to b.test or c.test without a live session there is
// bounced through the hub (the pull), whatever the browser's third-party cookie policy; the
// push (hidden images, third-party cookies) runs alongside.

import { SLOW } from './lib/browsers.mjs';
import { short } from './lib/harness.mjs';

const [A, B, C] = ['a.test', 'b.test', 'c.test'];
const NOT_LOGGED_IN = 'Not logged in.';

// A reload of a.test right after the push: by design (src/shs_push.c) no tags until
// SharedSessionPushRetry has passed.  Reported, not asserted.
async function repushNote(t) {
  const st = await t.home(A);
  if (st.loaders.length) t.step(`NOTE: a.test pushed again on a reload, ${st.loaders.length} loader tag(s); expected none before SharedSessionPushRetry (300 s)`);
  return st;
}

// The push in detail, third-party cookies allowed: the pushed id is kept by every site, so one
// login, one cart and one logout hold everywhere without any pull (every visit starts on the
// hub, whose pages push).
async function pushWorks(t) {
  let st = await t.home(A);
  t.equal(st.status, 200, 'a.test status');
  t.equal(st.user, NOT_LOGGED_IN, 'a.test before login');
  t.equal(st.loaders.length, 0, 'loader tags without a session');

  // an anonymous cart first, so that the login has an id to rotate away from
  st = await t.submit('Add an item');
  t.equal(st.cart, '1', 'anonymous cart on a.test');
  const anon = await t.sessionCookie(A);
  t.expect(anon, 'a.test set no session cookie for the anonymous cart');
  let ids = await t.sessionCookies([B, C]);
  t.step(`anonymous id ${short(anon)} pushed: b.test has ${short(ids[B])}, c.test has ${short(ids[C])}`);

  st = await t.submit('Log in', { 'input[name=user]': 'alice' });
  t.equal(st.status, 200, 'page after login');
  t.equal(st.user, 'alice', '#user on a.test after login');
  t.equal(st.loaders.map((l) => l.host).sort(), [B, C].map((h) => `${h}:${t.server.port}`), 'loader tags after login');
  t.expect(st.loaders.every((l) => l.complete && l.width === 1), `loader images not all loaded: ${JSON.stringify(st.loaders)}`);
  const cbs = t.callbacks.slice(-2);
  t.step(`callbacks answered: ${cbs.map((c) => `${c.host} ${c.status} ${c.type}`).join(', ')}`);

  const id = await t.sessionCookie(A);
  t.expect(id && id !== anon, `session id not rotated at login: before ${short(anon)}, after ${short(id)}`);
  ids = await t.sessionCookies([B, C]);
  t.step(`rotated at login: ${short(anon)} -> ${short(id)}; b.test has ${short(ids[B])}, c.test has ${short(ids[C])}`);
  t.equal(ids, { [B]: id, [C]: id }, 'session cookies on b.test and c.test after the push');

  await repushNote(t);

  const seen = {};
  for (const h of [A, B, C]) seen[h] = await t.whoami(h);
  for (const h of [A, B, C]) t.equal(seen[h], { cart: '1', user: 'alice' }, `whoami on ${h}`);

  for (const h of [B, C]) {
    st = await t.home(h);
    t.equal([st.status, st.user, st.cart], [200, 'alice', '1'], `${h} opened directly`);
  }

  await t.home(B);
  st = await t.submit('Add an item');
  t.equal(st.cart, '2', 'cart on b.test after adding');
  st = await t.home(A);
  t.equal([st.user, st.cart], ['alice', '2'], 'a.test after the cart changed on b.test');

  await t.home(C);
  st = await t.submit('Log out');
  t.equal(st.user, NOT_LOGGED_IN, 'c.test after logout');
  for (const h of [A, B]) {
    st = await t.home(h);
    t.equal([st.status, st.user], [200, NOT_LOGGED_IN], `${h} after logout on c.test`);
  }
  for (const h of [A, B, C]) t.equal(await t.whoami(h), {}, `whoami on ${h} after logout`);

  const blocked = t.cookieEvents('set-cookie-blocked');
  if (blocked) {
    for (const e of t.cookieEvents('set-cookie-exempted')) t.step(`browser exempted ${e.name} from ${new URL(e.url).host}: ${e.reasons.join(', ')}`);
    t.equal(blocked.map((e) => `${e.name}: ${e.reasons}`), [], 'cookies the browser refused from the callbacks');
  }
}

// What the push did right after the login on the hub, as the browser tells it (Chromium: the
// cookies it refused from the callbacks and why); asserted where third-party cookies are
// allowed (nothing refused), reported where they are not.
function pushReport(t, st, callbacks) {
  t.step(`push: loader tags -> ${st.loaders.map((l) => `${l.host}${l.complete && l.width === 1 ? '' : ' (NOT loaded)'}`).join(', ') || 'none'}; `
    + `callbacks answered: ${callbacks.map((c) => `${c.host} ${c.status}`).join(', ') || 'none'}`);
  const blocked = t.cookieEvents('set-cookie-blocked');
  if (!blocked) return;
  const refused = blocked.filter((e) => e.name === 'shs_session');
  for (const e of refused) t.step(`browser refused ${e.name} from ${new URL(e.url).host}${new URL(e.url).pathname}: ${e.reasons.join(', ')}`);
  if (t.browser.thirdPartyCookies === 'allowed') {
    t.equal(refused.map((e) => `${e.name}: ${e.reasons}`), [], 'cookies the browser refused from the callbacks');
  } else if (refused.length) {
    t.expect(refused.every((e) => e.reasons.length > 0), 'a refusal without a reason');
    t.reason = [...new Set(refused.flatMap((e) => e.reasons))].join(', ');
  }
}

// The browser matrix, with the hub: an anonymous cart shared from b.test to c.test (fresh
// profile), a login on the hub seen by b.test and c.test opened directly on their first page
// view, a logout on b.test seen by a.test and c.test on their next page view.  Every page
// must render (200, #user present) with at most 4 redirects.
async function hubMatrix(t) {
  // 1. the anonymous cart, in the fresh profile: no login anywhere
  let st = await t.home(B);
  t.transport('b.test, anonymous, first view', st);
  t.equal([st.status, st.user, st.cart], [200, NOT_LOGGED_IN, '0'], 'b.test first view, anonymous');
  st = await t.submit('Add an item');
  t.equal([st.status, st.cart], [200, '1'], 'cart on b.test after adding an item');
  st = await t.home(C);
  t.transport('c.test, anonymous cart from b.test', st);
  t.equal([st.status, st.user, st.cart], [200, NOT_LOGGED_IN, '1'], 'c.test opened directly after the anonymous cart on b.test');
  st = await t.home(A);
  t.equal([st.status, st.user, st.cart, st.redirects], [200, NOT_LOGGED_IN, '1', 0], 'a.test (the hub: never bounced) after the anonymous cart');

  // a fresh cookie jar for the rest: nothing of the anonymous session is left (left the sites
  // first, so that no late request of theirs, e.g. the favicon, sets a cookie again)
  await t.page.goto('about:blank');
  await t.context.clearCookies();
  t.equal(await t.sessionCookies([A, B, C]), { [A]: null, [B]: null, [C]: null }, 'session cookies after clearing the jar');
  t.step('cookie jar cleared');

  // 2. log in on the hub, with the form (a real click)
  st = await t.home(A);
  t.equal([st.status, st.user, st.redirects], [200, NOT_LOGGED_IN, 0], 'a.test before login (the hub is never bounced)');
  const cbBefore = t.callbacks.length;
  st = await t.submit('Log in', { 'input[name=user]': 'alice' });
  t.equal(st.chain, ['POST /login.php 303', 'GET / 200'], 'login redirect chain (no loop)');
  t.equal(st.user, 'alice', '#user on a.test after login');
  pushReport(t, st, t.callbacks.slice(cbBefore));
  const held = await t.sessionCookies([A, B, C]);
  t.step(`session cookies before b.test and c.test are visited: a.test ${short(held[A])}, b.test ${short(held[B])}, c.test ${short(held[C])}`
    + `${t.browser.engine === 'firefox' ? ' (Firefox lists every partition: the push\'s copies set inside a.test\'s page included)' : ''}`);

  // third-party cookies allowed: the push alone must have done it, before any visit
  t.expect(held[A], 'a.test has no session cookie after login');
  if (t.browser.thirdPartyCookies === 'allowed') t.equal(held, { [A]: held[A], [B]: held[A], [C]: held[A] }, 'ids pushed to b.test and c.test at login');

  // b.test and c.test typed in the address bar: logged in on the first page view
  for (const h of [B, C]) {
    st = await t.home(h);
    t.transport(`${h}, first view after the login on the hub`, st, held[h] ? 'push (cookie set by the callback, no bounce)' : 'none: no bounce, no cookie');
    t.equal([st.status, st.user], [200, 'alice'], `${h} opened directly, first page view after the login on a.test`);
    if (t.browser.thirdPartyCookies === 'allowed') t.equal(st.pulled, false, `${h} bounced although the push gave it the id`);
  }
  st = await t.home(A);
  t.equal([st.status, st.user, st.redirects], [200, 'alice', 0], 'a.test after visiting b.test and c.test');
  st = await t.home(B);
  t.equal([st.status, st.user, st.pulled], [200, 'alice', false], 'b.test second view (live session: no bounce)');

  // 3. log out on b.test: the id dies everywhere
  st = await t.submit('Log out');
  t.equal([st.status, st.user], [200, NOT_LOGGED_IN], 'b.test after logout');
  for (const h of [A, C]) {
    st = await t.home(h);
    if (h !== A) t.transport(`${h}, first view after the logout on b.test`, st, 'no bounce (dead or replaced id)');
    t.equal([st.status, st.user], [200, NOT_LOGGED_IN], `${h} on the next navigation after the logout on b.test`);
  }
  for (const h of [A, B, C]) t.equal(await t.whoami(h), {}, `whoami on ${h} after the logout`);

  const visits = {};
  for (const n of t.navigations) if (n.status === 200) visits[n.url] = (visits[n.url] || 0) + 1;
  t.step(`page views: ${Object.entries(visits).map(([u, n]) => `${new URL(u).host.split(':')[0]}${new URL(u).pathname} x${n}`).join(', ')}`);
}

// The browser matrix's flow (hubMatrix above, step for step) in a browser driven over plain
// WebDriver (lib/wd-harness.mjs), which tells neither a page's status nor its redirect chain
// nor another site's cookies: statuses, chains and transports come from httpd's access log
// (each request's Location and the id cookie it carried), and the session is checked with
// whoami on every site after the login as well as after the logout.
async function hubMatrixWebDriver(t) {
  t.step(`browser command line: MiniBrowser ${t.session.browserArgs.join(' ')}`);

  // 1. the anonymous cart, in the fresh profile: no login anywhere
  let st = await t.home(B);
  t.transport('b.test, anonymous, first view', st);
  t.equal([st.status, st.user, st.cart], [200, NOT_LOGGED_IN, '0'], 'b.test first view, anonymous');
  st = await t.submit('Add an item');
  t.equal([st.status, st.cart], [200, '1'], 'cart on b.test after adding an item');
  st = await t.home(C);
  t.transport('c.test, anonymous cart from b.test', st);
  t.equal([st.status, st.user, st.cart], [200, NOT_LOGGED_IN, '1'], 'c.test opened directly after the anonymous cart on b.test');
  st = await t.home(A);
  t.equal([st.status, st.user, st.cart, st.redirects], [200, NOT_LOGGED_IN, '1', 0], 'a.test (the hub: never bounced) after the anonymous cart');

  // a fresh cookie jar for the rest (WebDriver deletes one site's cookies at a time)
  const left = await t.clearCookies([A, B, C]);
  t.equal(left, { [A]: [], [B]: [], [C]: [] }, 'cookies left after clearing the jar');
  t.step('cookie jar cleared');

  // 2. log in on the hub, with the form (a real click)
  st = await t.home(A);
  t.equal([st.status, st.user, st.redirects, st.sent], [200, NOT_LOGGED_IN, 0, null], 'a.test before login (the hub is never bounced; no id sent after clearing the jar)');
  const cbFrom = t.requests.length;
  st = await t.submit('Log in', { 'input[name=user]': 'alice' });
  t.equal(st.chain, ['POST /login.php 303', 'GET / 200'], 'login redirect chain (no loop)');
  t.equal(st.user, 'alice', '#user on a.test after login');
  const hubId = await t.currentSessionCookie();
  t.expect(hubId, 'a.test has no session cookie after login');
  t.step(`push: loader tags -> ${st.loaders.map((l) => `${l.at}${l.complete && l.width > 0 ? '' : ' (NOT loaded)'}`).join(', ') || 'none'}; `
    + `callbacks answered (access log): ${t.callbacksSince(cbFrom).map((c) => `${c.host} ${c.status}`).join(', ') || 'none'}`);

  // b.test and c.test typed in the address bar: logged in on the first page view; third-party
  // cookies allowed: the push alone must have done it, the id it carried is the hub's
  for (const h of [B, C]) {
    st = await t.home(h);
    t.transport(`${h}, first view after the login on the hub`, st);
    t.equal([st.status, st.user], [200, 'alice'], `${h} opened directly, first page view after the login on a.test`);
    if (t.browser.thirdPartyCookies === 'allowed') {
      t.equal([st.pulled, st.sent], [false, hubId.slice(0, st.sent?.length ?? 16)], `${h}: bounced, or another id than the hub's, although the push gave it the id`);
    }
  }
  st = await t.home(A);
  t.equal([st.status, st.user, st.redirects], [200, 'alice', 0], 'a.test after visiting b.test and c.test');
  for (const h of [A, B, C]) t.equal(await t.whoami(h), { user: 'alice' }, `whoami on ${h} after the login`);
  st = await t.home(B);
  t.equal([st.status, st.user, st.pulled], [200, 'alice', false], 'b.test second view (live session: no bounce)');

  // 3. log out on b.test: the id dies everywhere
  st = await t.submit('Log out');
  t.equal([st.status, st.user], [200, NOT_LOGGED_IN], 'b.test after logout');
  for (const h of [A, C]) {
    st = await t.home(h);
    if (h !== A) t.transport(`${h}, first view after the logout on b.test`, st, 'no bounce (dead or replaced id)');
    t.equal([st.status, st.user], [200, NOT_LOGGED_IN], `${h} on the next navigation after the logout on b.test`);
  }
  for (const h of [A, B, C]) t.equal(await t.whoami(h), {}, `whoami on ${h} after the logout`);

  const views = {};
  for (const n of t.navigations) views[`${n.host}${n.target.split('?')[0]} ${n.status}`] = (views[`${n.host}${n.target.split('?')[0]} ${n.status}`] || 0) + 1;
  t.step(`page views: ${Object.entries(views).map(([k, n]) => `${k} x${n}`).join(', ')}`);
  t.equal(t.navigations.filter((n) => n.status !== 200), [], 'page views that did not end in a 200');
}

// Chromium's bounce-tracking mitigation (DIPS/BTM) deletes the state of sites that a redirect
// chain passed through (the hub, in the pull) unless the user interacted with them.  The grace
// period and timer are cut to 1 s / 2 s (lib/browsers.mjs); a chain is judged when it ends,
// i.e. at the next navigation.
async function dipsHub(t) {
  const issues = () => t.cookieRecorder.bounceIssues;
  const hubCookie = async () => (await t.context.cookies(`${t.site(A)}/`)).filter((c) => c.name.startsWith('shs_session')).map((c) => c.name);

  // setup check: a hub the user never interacted with loses its cookie after the bounce, so
  // the mitigation is on (otherwise the real check below would prove nothing)
  let st = await t.home(C);
  t.transport('c.test, anonymous, first view (control: the hub never interacted with)', st);
  t.equal([st.status, st.user], [200, NOT_LOGGED_IN], 'c.test anonymous first view');
  t.expect((await hubCookie()).length, 'the pull left no cookie on the hub a.test');
  await t.whoami(C); // the next navigation ends the redirect chain: the bounce is judged
  const ended = Date.now();
  const gone = await t.waitFor('the mitigation', 8000 * SLOW, async () => (await hubCookie()).length === 0);
  t.step(`bounce-tracking reports: ${JSON.stringify(issues().map((i) => i.sites))}; hub cookies ${((Date.now() - ended) / 1000).toFixed(1)} s later: ${JSON.stringify(await hubCookie())}`);
  t.expect(gone, `setup: Chromium did not delete the cookies of the never-interacted hub within ${8 * SLOW} s of the bounce (DIPS inactive?): this scenario would prove nothing`);
  t.step('control: the mitigation deleted the never-interacted hub\'s cookies');
  const before = issues().length;

  // log in on the hub with a real click and keystrokes: an interaction with a.test
  st = await t.home(A);
  t.equal([st.status, st.user], [200, NOT_LOGGED_IN], 'a.test before login');
  await t.page.click('input[name=user]');
  await t.page.keyboard.press('End');
  st = await t.submit('Log in');
  t.equal([st.status, st.user], [200, 'alice'], 'a.test after login');

  st = await t.home(B);
  t.transport('b.test, first view after the login on the hub', st);
  t.equal([st.status, st.user], [200, 'alice'], 'b.test opened directly after the login on a.test');
  t.expect(st.pulled, `b.test was not pulled through the hub: ${st.hops.join(' -> ')}`);
  t.equal(await t.whoami(B), { user: 'alice' }, 'whoami on b.test'); // ends the redirect chain: the bounce through a.test is judged
  const started = Date.now();
  await t.page.waitForTimeout(5000); // longer than the grace period (1 s) + the timer (2 s)
  t.step(`waited ${((Date.now() - started) / 1000).toFixed(1)} s; bounce-tracking reports since the login: ${JSON.stringify(issues().slice(before).map((i) => i.sites))}`);
  t.equal(issues().slice(before).filter((i) => i.sites.includes(A)).length, 0, 'bounce-tracking reports naming a.test after the login');
  t.expect((await hubCookie()).includes('shs_session'), `the hub's session cookie is gone: ${JSON.stringify(await hubCookie())}`);

  st = await t.home(A);
  t.equal([st.status, st.user], [200, 'alice'], 'a.test (the hub) after the bounce and the wait');
  st = await t.home(B);
  t.equal([st.status, st.user], [200, 'alice'], 'b.test after the wait');
}

export const SCENARIOS = [
  { name: 'chromium-3p-allowed', browser: 'chromium-3p-allowed', flow: hubMatrix },
  { name: 'chromium-3p-blocked', browser: 'chromium-3p-blocked', flow: hubMatrix },
  { name: 'firefox-cb5', browser: 'firefox-cb5', flow: hubMatrix },
  { name: 'firefox-cb1', browser: 'firefox-cb1', flow: hubMatrix },
  { name: 'chromium-dips', browser: 'chromium-3p-blocked-dips', flow: dipsHub },
  // WebKit over WebDriver, ITP on.  refusals: the module's refusals it may cause in the error
  // log, any other one fails it.  "replayed": a site that already received the session through
  // the pull refuses the same session pushed again from another site, as in every browser that
  // refuses the push's cookies (chromium-3p-blocked, firefox-*).
  { name: 'webkit-itp', browser: 'webkit-itp', flow: hubMatrixWebDriver, refusals: ['SHS00401 replayed'] },
  // the control for it: WebKit keeping the push's cookies, told apart from the pull by the same
  // access-log reading (extra: name it to run it)
  { name: 'webkit-3p-allowed', browser: 'webkit-3p-allowed', flow: hubMatrixWebDriver, refusals: ['SHS00401 replayed'], extra: true },
  // the push alone in more detail (anonymous id, rotation at login, cart and logout on the
  // other sites); not in the default run, to keep it under 3 minutes: name it to run it
  { name: 'chromium-push', browser: 'chromium-3p-allowed', flow: pushWorks, extra: true },
];
