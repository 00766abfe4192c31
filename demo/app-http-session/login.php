<?php
require __DIR__ . '/_session.php';
$user = preg_replace('/[^A-Za-z0-9_.-]/', '', (string)($_POST['user'] ?? ''));
if ($user !== '') {
    session_put(['user' => $user]);
}
header('Location: /', true, 303);
