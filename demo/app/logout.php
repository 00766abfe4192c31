<?php
require __DIR__ . '/_shop.php';
$_SESSION = [];
session_destroy();
$p = session_get_cookie_params();
setcookie(session_name(), '', time() - 3600, $p['path'], $p['domain'], $p['secure'], $p['httponly']);
header('Location: /', true, 303);
