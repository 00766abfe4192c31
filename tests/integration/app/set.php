<?php
// set.php?k=KEY&v=VALUE writes one key back through mod_session's SessionHeader;
// without k, every query parameter is written.  An empty value deletes the key.
$pairs = array();
if (isset($_GET['k'])) {
    $pairs[$_GET['k']] = isset($_GET['v']) ? $_GET['v'] : '';
} else {
    $pairs = $_GET;
}
$enc = array();
foreach ($pairs as $k => $v) {
    $enc[] = urlencode($k) . '=' . urlencode($v);
}
if ($enc) {
    header('X-Replace-Session: ' . implode('&', $enc));
}
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(array('written' => (object)$pairs)), "\n";
