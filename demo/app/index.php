<?php
require __DIR__ . '/_shop.php';
$host = h($_SERVER['HTTP_HOST'] ?? '?');
$sites = array_filter(explode(' ', (string)getenv('DEMO_SITES')));
header('Content-Type: text/html; charset=utf-8');
?><!DOCTYPE html>
<html><head><title><?= $host ?></title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto} .box{border:1px solid #ccc;padding:1em;margin:1em 0}</style>
</head><body>
<h1>Legacy shop on <?= $host ?></h1>
<div class="box">
<?php if (!empty($_SESSION['user'])): ?>
  Logged in as <b id="user"><?= h($_SESSION['user']) ?></b>.
  <form method="post" action="/logout.php"><button>Log out</button></form>
<?php else: ?>
  <span id="user">Not logged in.</span>
  <form method="post" action="/login.php"><input name="user" value="alice"> <button>Log in</button></form>
<?php endif; ?>
</div>
<div class="box">Cart: <b id="cart"><?= (int)($_SESSION['cart'] ?? 0) ?></b> item(s)
  <form method="post" action="/cart.php"><button>Add an item</button></form></div>
<p>The same visitor on the other sites:
<?php foreach ($sites as $site): ?> <a href="<?= h($site) ?>/"><?= h($site) ?></a><?php endforeach; ?></p>
</body></html>
