<?php
require __DIR__ . '/_session.php';
session_put(['user' => '', 'cart' => '']);
header('Location: /', true, 303);
