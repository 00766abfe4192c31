<?php
// Empties the session: every key the application knows is written back empty.
$raw = getenv('HTTP_SESSION');
$session = array();
if ($raw !== false && $raw !== '') {
    parse_str($raw, $session);
}
unset($session['expiry']);          // mod_session's own key
$enc = array();
foreach (array_keys($session) as $k) {
    $enc[] = urlencode($k) . '=';
}
if ($enc) {
    header('X-Replace-Session: ' . implode('&', $enc));
}
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(array('cleared' => array_keys($session))), "\n";
