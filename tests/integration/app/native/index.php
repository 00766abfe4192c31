<?php
// The home page: a plain HTML page (with </body>, where mod_sharedsession adds its tags).
require __DIR__ . '/_common.php';
native_start();
$user = isset($_SESSION['user']) ? $_SESSION['user'] : null;
$cart = isset($_SESSION['cart']) ? $_SESSION['cart'] : array();
header('Content-Type: text/html; charset=utf-8');
$h = function ($s) { return htmlspecialchars($s, ENT_QUOTES, 'UTF-8'); };
?>
<!doctype html>
<html><head><title>native shop</title></head>
<body>
<p id="user"><?= $user === null ? 'Hello, guest' : 'Hello, ' . $h($user) ?></p>
<p id="cart"><?= count($cart) ?> item(s) in the cart</p>
<form method="post" action="login.php"><input name="user"><button>Log in</button></form>
<form method="post" action="cart.php"><input name="item"><button>Add</button></form>
<form method="post" action="logout.php"><button>Log out</button></form>
</body>
</html>
