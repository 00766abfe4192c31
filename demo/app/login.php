<?php
require __DIR__ . '/_shop.php';
$user = preg_replace('/[^A-Za-z0-9_.-]/', '', (string)($_POST['user'] ?? ''));
if ($user !== '') {
    session_regenerate_id(true); // the textbook defence against session fixation
    $_SESSION['user'] = $user;
}
header('Location: /', true, 303);
