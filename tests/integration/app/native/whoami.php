<?php
// The application's state for this request, read only (a visitor without a session cookie
// gets no session): the user, the cart, a fingerprint of the PHP session id (never the id),
// and the names of the cookies the application received, in order.
require __DIR__ . '/_common.php';
$names = array();
$raw = getenv('HTTP_COOKIE');
if ($raw !== false && $raw !== '') {
    foreach (explode(';', $raw) as $pair) {
        $kv = explode('=', trim($pair), 2);
        if ($kv[0] !== '') {
            $names[] = $kv[0];
        }
    }
}
$user = null;
$cart = array();
$sid = null;
if (isset($_COOKIE[session_name()])) {
    session_start(array('read_and_close' => true));
    $user = isset($_SESSION['user']) ? $_SESSION['user'] : null;
    $cart = isset($_SESSION['cart']) ? $_SESSION['cart'] : array();
    $sid = substr(hash('sha256', session_id()), 0, 16);
}
native_json(array(
    'user' => $user,
    'cart' => $cart,
    'sid' => $sid,
    'cookie_names' => $names,
    'save_handler' => ini_get('session.save_handler'),
));
