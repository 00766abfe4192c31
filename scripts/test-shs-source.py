#!/usr/bin/python3
"""Tests of scripts/shs_source.py, the reader the drift checks rely on: C written the ways the
module writes it, and the ways it might, on a throw-away source tree.  Run by `make check`."""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shs_source as src  # noqa: E402

ENTRY = r'''
#define PER_DIR (RSRC_CONF | OR_AUTHCFG)
/* AP_INIT_FLAG("InAComment", f, NULL, RSRC_CONF, "no") */
static const char *note = "AP_INIT_TAKE1(\"InAString\", f, NULL, RSRC_CONF, \"no\")";
static const command_rec cmds[] = {
    AP_INIT_TAKE1("ModOne", h_one, NULL, RSRC_CONF,
                  "one, two; (three), not AP_INIT_FLAG(\"Quoted\", f, NULL, 0, \"x\")"),
    AP_INIT_TAKE_ARGV(
        "ModTwo",
        h_two, NULL, PER_DIR, "x"),
    // AP_INIT_FLAG("InALineComment", f, NULL, RSRC_CONF, "no"),
    AP_INIT_FLAG("Mod" "Three", h_three, NULL, RSRC_CONF, "joined literals"),
    { NULL }
};
'''

CMD = r'''
static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}
const char *h_one(cmd_parms *cmd, void *dc, const char *a) { return global_only(cmd); }
const char *h_two(cmd_parms *cmd, void *dc, int argc, char *const argv[]) { return NULL; }
const char *h_three(cmd_parms *cmd, void *dc, int on)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    return err;
}
'''

LOGS = r'''
static int level_of(const char *why)
{
    return !strcmp(why, "x") ? APLOG_WARNING : APLOG_INFO;
}
void f(request_rec *r, server_rec *s, apr_status_t rv, int bad)
{
    int lvl;
    /* ap_log_rerror(APLOG_MARK, APLOG_EMERG, 0, r, "SHS09999: in a comment"); */
    const char *t = "ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, \"SHS09998: in a string\")";
    ap_log_error(APLOG_MARK,
                 APLOG_ERR,
                 rv, s,
                 "SHS00001: the level two lines above the tag, %s (%d)",
                 "a, b", f(1, 2));
    ap_log_rerror(APLOG_MARK, bad ? APLOG_CRIT : APLOG_DEBUG, rv, r,
                  "SHS00" "002: a tag across two literals %" APR_SIZE_T_FMT, (apr_size_t)1);
    ap_log_rerror(APLOG_MARK, level_of(t), 0, r, "SHS00003: level from a function");
    lvl = bad ? APLOG_NOTICE : APLOG_TRACE1;
    if (bad) {
        lvl = APLOG_ALERT;
    }
    ap_log_rerror(APLOG_MARK, lvl, 0, r, "SHS00004: level from a variable");
    ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, s, "SHS00005: a start-up flag");
    ap_log_cserror(APLOG_MARK, APLOG_WARNING, 0, c, s, "SHS00006: the connection and server");
    ap_log_perror(APLOG_MARK, APLOG_ERR, 0, p, APLOGNO(01234) "httpd's own numbering");
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "no tag at all");
}
'''

failures = []


def expect(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def tree(files):
    root = tempfile.mkdtemp(prefix="shs-source-test-")
    os.makedirs(os.path.join(root, "src"))
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)
    return root


def raises(what, files, fn, fragment):
    root = tree(files)
    try:
        fn(root)
        failures.append(f"{what}: no error")
    except src.SourceError as e:
        if fragment not in str(e):
            failures.append(f"{what}: the error {str(e)!r} does not say {fragment!r}")
    finally:
        shutil.rmtree(root)


def main():
    root = tree({"mod_sharedsession.c": ENTRY, "src/cmd.c": CMD, "src/logs.c": LOGS})
    try:
        table = src.directive_table(root)
        expect("directive names", [d["name"] for d in table], ["ModOne", "ModTwo", "ModThree"])
        expect("macros", [d["macro"] for d in table],
               ["AP_INIT_TAKE1", "AP_INIT_TAKE_ARGV", "AP_INIT_FLAG"])
        expect("override expanded from #define", table[1]["override"],
               "(RSRC_CONF | OR_AUTHCFG)")
        expect("handlers refusing a virtual host", src.global_only_handlers(root, table),
               {"h_one"})
        calls = {c["tag"]: c for c in src.log_calls(root)}
        expect("tags found", sorted(t or "-" for t in calls),
               ["-", "AH01234", "SHS00001", "SHS00002", "SHS00003", "SHS00004", "SHS00005",
                "SHS00006"])
        expect("level on its own line", calls["SHS00001"]["levels"], {"error"})
        expect("level of a ?:", calls["SHS00002"]["levels"], {"crit", "debug"})
        expect("level from a function", calls["SHS00003"]["levels"], {"warn", "info"})
        expect("level from a variable", calls["SHS00004"]["levels"],
               {"notice", "trace1", "alert"})
        expect("APLOG_STARTUP left out", calls["SHS00005"]["levels"], {"crit"})
        expect("ap_log_cserror's format", calls["SHS00006"]["levels"], {"warn"})
        expect("line of a multi-line call", calls["SHS00001"]["line"], 11)
        expect("untagged call kept", calls[None]["levels"], {"warn"})
        expect("at_least notice", sorted(t for t, c in calls.items()
                                         if t and src.at_least(c["levels"])),
               ["AH01234", "SHS00001", "SHS00002", "SHS00003", "SHS00004", "SHS00005",
                "SHS00006"])
    finally:
        shutil.rmtree(root)
    raises("a logging macro", {"src/m.c": "#define LOG(r, m) \\\n    ap_log_rerror(APLOG_MARK, "
                                          "APLOG_ERR, 0, r, m)\n"},
           src.log_calls, "preprocessor directive")
    raises("an unknown level", {"src/m.c": "void f(request_rec *r, int x)\n{\n"
                                           "    ap_log_rerror(APLOG_MARK, x + 1, 0, r, "
                                           "\"SHS00009: x\");\n}\n"},
           src.log_calls, "cannot tell the log level")
    raises("a handler that does not exist",
           {"mod_sharedsession.c": "static const command_rec c[] = {\n    AP_INIT_FLAG(\"M\", "
                                   "nowhere, NULL, RSRC_CONF, \"x\"),\n    { NULL }\n};\n"},
           lambda r: src.global_only_handlers(r, src.directive_table(r)), "nowhere")
    for f in failures:
        print(f"test-shs-source: {f}", file=sys.stderr)
    if failures:
        return 1
    print("shs_source: directive table, log levels and tags read as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
