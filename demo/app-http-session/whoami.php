<?php
require __DIR__ . '/_session.php';
header('Content-Type: application/json');
echo json_encode(['host' => $_SERVER['HTTP_HOST'] ?? '', 'session' => session_get()]), "\n";
