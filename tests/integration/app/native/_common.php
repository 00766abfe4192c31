<?php
// Shared by the pages of this small legacy application.  It uses PHP's native sessions only
// (session_start(), $_SESSION, the PHPSESSID cookie), as configured by php.ini: nothing in it
// knows about mod_sharedsession.

// Test instrumentation, not application logic: when the web server passes
// SHS_APPTEST_IDLOG (SetEnv), every session id this application uses is appended to that
// file, so that a test knows the values that must never show up in a URL, a header or a log.
function native_note_id()
{
    $log = getenv('SHS_APPTEST_IDLOG');
    if ($log !== false && $log !== '' && session_id() !== '') {
        file_put_contents($log, session_id() . "\n", FILE_APPEND | LOCK_EX);
    }
}

function native_start()
{
    session_start();
    native_note_id();
}

function native_json($data, $status = 200)
{
    http_response_code($status);
    header('Content-Type: application/json');
    header('Cache-Control: no-store');
    echo json_encode($data), "\n";
}
