<?php
// The legacy sso.php image callback this module replaces, re-created minimally:
// adopt the session id given in ?i=, take this host off the session's list of sites still to
// visit, answer a 1x1 GIF.  No checks at all, as in the seed.  Sessions live in memcached
// (php-memcached's session handler, configured in the prefork instance).
$session_id = trim($_GET['i'] ?? '');
if ($session_id !== '' && $session_id != session_id()) {
    session_id($session_id);
}
session_start();
if (isset($_SESSION['sso_sites'])) {
    if (($key = array_search($_SERVER['HTTP_HOST'], $_SESSION['sso_sites'])) !== false) {
        unset($_SESSION['sso_sites'][$key]);
    }
}
header('Content-Type: image/gif');
// the same 43-byte transparent GIF as the module's callback
echo base64_decode('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==');
