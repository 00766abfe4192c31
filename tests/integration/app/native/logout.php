<?php
// Log out: the session is destroyed and its cookie deleted.
require __DIR__ . '/_common.php';
native_start();
$_SESSION = array();
session_destroy();
setcookie(session_name(), '', time() - 3600, '/');
native_json(array('logged_out' => true));
