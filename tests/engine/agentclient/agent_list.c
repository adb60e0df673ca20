/*
 * agent_list: the smallest SSH agent client, for the engine tests (busybox has no ssh).
 *
 * Connects to $SSH_AUTH_SOCK, sends SSH2_AGENTC_REQUEST_IDENTITIES (11) and reads the
 * SSH2_AGENT_IDENTITIES_ANSWER (12). Prints "keys N", then "key <comment>" per identity.
 * Exit codes: 0 ok, 2 no SSH_AUTH_SOCK, 3 cannot connect, 4 I/O error, 5 unexpected answer.
 * Built with: gcc -static -O2 -o agent_list agent_list.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int io_all(int fd, unsigned char *buf, size_t len, int writing) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = writing ? write(fd, buf + done, len - done) : read(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static uint32_t get_u32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* A length-prefixed string at *pos in buf[0..len); returns its start or NULL when truncated. */
static const unsigned char *get_string(const unsigned char *buf, size_t len, size_t *pos,
                                       uint32_t *out_len) {
    if (len - *pos < 4)
        return NULL;
    uint32_t n = get_u32(buf + *pos);
    *pos += 4;
    if (len - *pos < n)
        return NULL;
    const unsigned char *start = buf + *pos;
    *pos += n;
    *out_len = n;
    return start;
}

int main(void) {
    const char *path = getenv("SSH_AUTH_SOCK");
    if (path == NULL || *path == '\0') {
        fprintf(stderr, "agent_list: SSH_AUTH_SOCK is not set\n");
        return 2;
    }
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "agent_list: socket path too long\n");
        return 3;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "agent_list: cannot connect to %s: %s\n", path, strerror(errno));
        return 3;
    }
    unsigned char request[5] = {0, 0, 0, 1, 11};
    unsigned char header[4];
    if (io_all(fd, request, sizeof request, 1) != 0 || io_all(fd, header, 4, 0) != 0) {
        fprintf(stderr, "agent_list: the agent closed the connection\n");
        return 4;
    }
    uint32_t len = get_u32(header);
    if (len == 0 || len > 256 * 1024) {
        fprintf(stderr, "agent_list: bad answer length %u\n", len);
        return 5;
    }
    unsigned char *body = malloc(len);
    if (body == NULL || io_all(fd, body, len, 0) != 0) {
        fprintf(stderr, "agent_list: short answer\n");
        return 4;
    }
    close(fd);
    if (body[0] != 12 || len < 5) {
        fprintf(stderr, "agent_list: unexpected answer type %u\n", body[0]);
        return 5;
    }
    uint32_t count = get_u32(body + 1);
    printf("keys %u\n", count);
    size_t pos = 5;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t blob_len, comment_len;
        if (get_string(body, len, &pos, &blob_len) == NULL) {
            fprintf(stderr, "agent_list: truncated key blob\n");
            return 5;
        }
        const unsigned char *comment = get_string(body, len, &pos, &comment_len);
        if (comment == NULL) {
            fprintf(stderr, "agent_list: truncated comment\n");
            return 5;
        }
        printf("key %.*s\n", (int)comment_len, (const char *)comment);
    }
    return 0;
}
