<?php
// POST user=NAME: log in.  The session id changes at login (session fixation defence), then
// back to the home page.
require __DIR__ . '/_common.php';
if ($_SERVER['REQUEST_METHOD'] !== 'POST' || !isset($_POST['user']) || $_POST['user'] === '') {
    native_json(array('error' => 'POST user=NAME'), 400);
    exit;
}
native_start();
session_regenerate_id(true);
native_note_id();
$_SESSION['user'] = (string)$_POST['user'];
header('Location: index.php', true, 302);
