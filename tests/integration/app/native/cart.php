<?php
// POST item=THING: add it to the cart (anonymous or logged in).  GET: the cart.
require __DIR__ . '/_common.php';
native_start();
if (!isset($_SESSION['cart'])) {
    $_SESSION['cart'] = array();
}
if ($_SERVER['REQUEST_METHOD'] === 'POST' && isset($_POST['item']) && $_POST['item'] !== '') {
    $_SESSION['cart'][] = (string)$_POST['item'];
}
native_json(array('cart' => $_SESSION['cart']));
