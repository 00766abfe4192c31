<?php
// What the shop knows about this visitor, as JSON (for scripts and tests).
require __DIR__ . '/_shop.php';
$s = [];
foreach (['cart', 'user'] as $k) {
    if (isset($_SESSION[$k]) && $_SESSION[$k] !== '') {
        $s[$k] = (string)$_SESSION[$k];
    }
}
header('Content-Type: application/json');
echo json_encode(['host' => $_SERVER['HTTP_HOST'] ?? '', 'session' => (object)$s]), "\n";
