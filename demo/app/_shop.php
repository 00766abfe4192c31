<?php
// An ordinary legacy PHP shop: PHP's own sessions (session_start(), $_SESSION, the PHPSESSID
// cookie), nothing that knows about mod_sharedsession.  Sharing it across domains is entirely
// the server's doing (SharedSessionAppCookie PHPSESSID).
session_start();

function h($s) {
    return htmlspecialchars((string)$s, ENT_QUOTES);
}
