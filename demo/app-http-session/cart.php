<?php
require __DIR__ . '/_session.php';
$s = session_get();
session_put(['cart' => (int)($s['cart'] ?? 0) + 1]);
header('Location: /', true, 303);
