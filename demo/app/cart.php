<?php
require __DIR__ . '/_shop.php';
$_SESSION['cart'] = (int)($_SESSION['cart'] ?? 0) + 1;
header('Location: /', true, 303);
