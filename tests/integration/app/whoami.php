<?php
// The session as the application sees it: mod_session's SessionEnv gives it as the
// environment variable HTTP_SESSION (urlencoded k=v&k2=v2).
$raw = getenv('HTTP_SESSION');
$session = array();
if ($raw !== false && $raw !== '') {
    parse_str($raw, $session);
}
$httpCookie = getenv('HTTP_COOKIE');
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(array(
    'raw' => $raw === false ? null : $raw,
    'session' => (object)$session,
    'cookies' => (object)$_COOKIE,
    'http_cookie' => $httpCookie === false ? null : $httpCookie,
    'shs_cookie_seen' => isset($_COOKIE['shs_session'])
        || ($httpCookie !== false && strpos($httpCookie, 'shs_session') !== false),
)), "\n";
