/*
 * workload.c - tiny, deterministic syscall mix used to capture real
 * `strace -c -f` and GNU `/usr/bin/time -v` output for vizlib's tests
 * (tests/test_appprofile.py).  See README.md in this directory for the
 * exact build/capture commands.
 *
 * Every operation below is repeated a fixed number of times so that the
 * captured counts are recognisable (e.g. 100 getppid, 50 pread64) and so
 * that each lmbench metric id in vizlib.appprofile has at least one
 * syscall mapped to it.  Output goes to stdout (a few lines) so that a
 * capture of mixed program + strace output contains non-table lines.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_usr1(int sig) { (void)sig; caught++; }

static void die(const char *what) { perror(what); exit(1); }

int main(void)
{
    char path[] = "/tmp/vizlib-workload-XXXXXX";
    char buf[4096];
    int fd, i;

    memset(buf, 'x', sizeof buf);
    fd = mkstemp(path);                      /* openat(O_CREAT|O_EXCL) */
    if (fd < 0) die("mkstemp");

    for (i = 0; i < 40; i++)                 /* 40 write */
        if (write(fd, buf, 1024) != 1024) die("write");
    for (i = 0; i < 10; i++) {               /* 10 pwrite64, 10 writev */
        struct iovec iov = { buf, 128 };
        if (pwrite(fd, buf, 128, i * 128) != 128) die("pwrite");
        if (writev(fd, &iov, 1) != 128) die("writev");
    }
    close(fd);

    for (i = 0; i < 30; i++) {               /* 30 x openat + read + fstat + close */
        struct stat st;
        fd = open(path, O_RDONLY);
        if (fd < 0) die("open");
        if (read(fd, buf, 512) != 512) die("read");
        /* raw fstat: glibc >= 2.33 turns fstat() into newfstatat(AT_EMPTY_PATH) */
        if (syscall(SYS_fstat, fd, &st) != 0) die("fstat");
        close(fd);
    }
    fd = open(path, O_RDONLY);
    for (i = 0; i < 50; i++)                 /* 50 pread64 */
        if (pread(fd, buf, 256, i * 16) != 256) die("pread");
    close(fd);

    for (i = 0; i < 25; i++) {               /* 25 stat (newfstatat) + 5 ENOENT opens */
        struct stat st;
        if (stat(path, &st) != 0) die("stat");
    }
    for (i = 0; i < 5; i++)
        if (open("/nonexistent/vizlib-workload", O_RDONLY) >= 0) die("open ENOENT");

    for (i = 0; i < 100; i++)                /* 100 getppid: lmbench null syscall */
        (void)syscall(SYS_getppid);

    /* signals: sigaction installs, 10 caught SIGUSR1 -> 10 rt_sigreturn */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    for (i = 0; i < 3; i++)
        if (sigaction(SIGUSR1, &sa, NULL) != 0) die("sigaction");
    for (i = 0; i < 10; i++)
        kill(getpid(), SIGUSR1);

    /* pipe round trips between parent and a forked child */
    int p2c[2], c2p[2];
    if (pipe(p2c) != 0 || pipe(c2p) != 0) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        char c;
        close(p2c[1]); close(c2p[0]);
        while (read(p2c[0], &c, 1) == 1)
            if (write(c2p[1], &c, 1) != 1) _exit(2);
        _exit(0);
    }
    close(p2c[0]); close(c2p[1]);
    for (i = 0; i < 20; i++) {
        char c = 'p';
        if (write(p2c[1], &c, 1) != 1 || read(c2p[0], &c, 1) != 1) die("pipe rtt");
    }
    close(p2c[1]);
    waitpid(pid, NULL, 0);
    close(c2p[0]);

    /* select / poll on a pipe that is readable */
    if (pipe(p2c) != 0) die("pipe");
    if (write(p2c[1], "s", 1) != 1) die("write");
    for (i = 0; i < 5; i++) {
        fd_set rfds;
        struct timeval tv = { 0, 0 };
        struct pollfd pfd = { p2c[0], POLLIN, 0 };
        FD_ZERO(&rfds);
        FD_SET(p2c[0], &rfds);
        if (select(p2c[0] + 1, &rfds, NULL, NULL, &tv) != 1) die("select");
        if (poll(&pfd, 1, 0) != 1) die("poll");
    }
    close(p2c[0]); close(p2c[1]);

    /* mmap: 8 anonymous 64 KiB mappings, touched, unmapped */
    for (i = 0; i < 8; i++) {
        char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) die("mmap");
        for (int off = 0; off < 65536; off += 4096)
            m[off] = 1;
        munmap(m, 65536);
    }

    /* TCP connect over loopback to our own listening socket */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin;
    socklen_t slen = sizeof sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        listen(ls, 4) != 0 || getsockname(ls, (struct sockaddr *)&sin, &slen) != 0)
        die("listen");
    for (i = 0; i < 2; i++) {
        int cs = socket(AF_INET, SOCK_STREAM, 0);
        if (cs < 0 || connect(cs, (struct sockaddr *)&sin, sizeof sin) != 0) die("connect");
        int as = accept(ls, NULL, NULL);
        if (as < 0) die("accept");
        close(as); close(cs);
    }
    close(ls);

    /* fork + execve of /bin/true */
    pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);

    unlink(path);
    printf("workload done: %d signals caught\n", (int)caught);
    return 0;
}
