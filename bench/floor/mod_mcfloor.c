/* mod_mcfloor: the floor of benchmark 1 -- one memcached `get` per request and nothing else.
 *
 * Not part of mod_sharedsession: bench/bench.py builds it with apxs and loads it beside the
 * module, so that a row of benchmark 1 measures what the cheapest possible client pays for the
 * one round trip a session page needs on this machine.  No session, no cookie, no parsing
 * beyond finding the end of the answer; one blocking connection per thread, kept for the life
 * of the process.  The ratio of SharedSession's row to this one is how close the module is to
 * the limit set by the round trip itself.
 *
 *   McFloor 127.0.0.1:11211 KEY      (or McFloor /path/to/memcached.sock KEY)
 *
 * in a <Location>: every request there first reads KEY; a missing key or a failed exchange
 * answers 500 (a benchmark row that would otherwise measure nothing).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "apr_strings.h"
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"

module AP_MODULE_DECLARE_DATA mcfloor_module;

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *get;           /* "get KEY\r\n" */
    apr_size_t getlen;
    int slot;            /* which of the thread's connections */
} floor_conf;

#define SLOTS 4
static int nslots;
static __thread int fds[SLOTS] = {-1, -1, -1, -1};

static void *create_dir(apr_pool_t *p, char *dir)
{
    (void)dir;
    return apr_pcalloc(p, sizeof(floor_conf));
}

static const char *set_floor(cmd_parms *cmd, void *dconf, const char *where, const char *key)
{
    floor_conf *c = dconf;

    if (where[0] == '/') {
        struct sockaddr_un *un = (struct sockaddr_un *)&c->addr;
        if (strlen(where) >= sizeof(un->sun_path)) {
            return "McFloor: socket path too long";
        }
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, where);
        c->addrlen = sizeof(*un);
    }
    else {
        struct sockaddr_in *in = (struct sockaddr_in *)&c->addr;
        const char *colon = strrchr(where, ':');
        char *host;
        if (!colon) {
            return "McFloor: HOST:PORT or /socket/path";
        }
        host = apr_pstrndup(cmd->pool, where, (apr_size_t)(colon - where));
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
            return "McFloor: an IPv4 address is needed";
        }
        c->addrlen = sizeof(*in);
    }
    if (nslots >= SLOTS) {
        return "McFloor: at most 4 servers";
    }
    c->slot = nslots++;
    c->get = apr_pstrcat(cmd->pool, "get ", key, "\r\n", NULL);
    c->getlen = strlen(c->get);
    return NULL;
}

static int conn(const floor_conf *c)
{
    int fd = fds[c->slot], one = 1;
    struct timeval tv = {1, 0};

    if (fd >= 0) {
        return fd;
    }
    fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (c->addr.ss_family == AF_INET) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen) != 0) {
        close(fd);
        return -1;
    }
    return fds[c->slot] = fd;
}

/* One get, its answer read to "END\r\n"; 1 when a value came back. */
static int get_once(const floor_conf *c)
{
    char buf[8192];
    size_t n = 0;
    int fd = conn(c);

    if (fd < 0 || send(fd, c->get, c->getlen, MSG_NOSIGNAL) != (ssize_t)c->getlen) {
        goto broken;
    }
    for (;;) {
        ssize_t r = recv(fd, buf + n, sizeof(buf) - n, 0);
        if (r <= 0) {
            goto broken;
        }
        n += (size_t)r;
        if (n >= 5 && !memcmp(buf + n - 5, "END\r\n", 5)) {
            return n > 5 && !memcmp(buf, "VALUE ", 6);
        }
        if (n == sizeof(buf)) {
            goto broken;
        }
    }
broken:
    if (fd >= 0) {
        close(fd);
        fds[c->slot] = -1;
    }
    return 0;
}

static int floor_fixups(request_rec *r)
{
    floor_conf *c = ap_get_module_config(r->per_dir_config, &mcfloor_module);

    if (!c || !c->get) {
        return DECLINED;
    }
    if (!get_once(c)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, errno, r, "mcfloor: no value for %s", c->get);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return DECLINED;
}

/* httpd reads its configuration twice at start (and again at each restart) */
static int floor_pre_config(apr_pool_t *p, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)p, (void)plog, (void)ptemp;
    nslots = 0;
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(floor_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(floor_fixups, NULL, NULL, APR_HOOK_MIDDLE);
}

static const command_rec floor_cmds[] = {
    AP_INIT_TAKE2("McFloor", set_floor, NULL, ACCESS_CONF, "memcached HOST:PORT or socket, KEY"),
    {NULL}
};

AP_DECLARE_MODULE(mcfloor) = {
    STANDARD20_MODULE_STUFF, create_dir, NULL, NULL, NULL, floor_cmds, register_hooks
};
