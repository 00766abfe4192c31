<?php
// The whole "session layer" of this legacy app: httpd hands the session in, as the
// environment variable HTTP_SESSION (SessionEnv On); the app hands changes back in a
// response header (SessionHeader X-Replace-Session).  No cookie handling, no storage code.
function session_get() {
    $s = [];
    parse_str((string)getenv('HTTP_SESSION'), $s);
    return $s;
}
function session_put(array $changes) {
    // keys are merged by mod_session; an empty value deletes a key
    header('X-Replace-Session: ' . http_build_query($changes));
}
function h($s) {
    return htmlspecialchars((string)$s, ENT_QUOTES);
}
