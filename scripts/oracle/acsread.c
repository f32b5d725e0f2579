/*
 * acsread: prints the ACS extended capability of PCI functions from their sysfs config files.
 *
 *   acsread /sys/bus/pci/devices/0000:00:02.0/config ...
 *   -> 0000:00:02.0 acs=0x148:0x005f:0x001d     (capability offset, ACS Capability, ACS Control)
 *   -> 0000:00:1f.0 acs=none
 *
 * The guest of the kernel oracle runs it (built static, no libc in the initramfs). It walks the extended
 * capability list from 0x100 (PCIe Base §7.6.3) for capability ID 0x000d (ACS, §7.7.12) and reads the
 * ACS Capability register at +4 and the ACS Control register at +6, the words Linux's
 * pci_std_enable_acs() and lspci read. A config file shorter than 4 KiB (conventional PCI, or read
 * without CAP_SYS_ADMIN) has no extended space: acs=none.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXT_START 0x100
#define CONFIG_SIZE 4096
#define ACS_ID 0x000d

static uint32_t dword(const unsigned char *b, int at) {
    return (uint32_t)b[at] | (uint32_t)b[at + 1] << 8 | (uint32_t)b[at + 2] << 16 | (uint32_t)b[at + 3] << 24;
}

static uint16_t word(const unsigned char *b, int at) { return (uint16_t)(b[at] | b[at + 1] << 8); }

/* The BDF is the name of the directory holding the config file. */
static const char *bdf_of(const char *path, char *out, size_t size) {
    const char *end = strrchr(path, '/');
    const char *start = end;
    if (!end) return path;
    while (start > path && start[-1] != '/') start--;
    size_t n = (size_t)(end - start);
    if (n >= size) n = size - 1;
    memcpy(out, start, n);
    out[n] = 0;
    return out;
}

static int report(const char *path) {
    unsigned char b[CONFIG_SIZE];
    char name[64];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    ssize_t total = 0;
    while (total < CONFIG_SIZE) {
        ssize_t r = read(fd, b + total, CONFIG_SIZE - total);
        if (r <= 0) break;
        total += r;
    }
    close(fd);
    const char *bdf = bdf_of(path, name, sizeof name);
    if (total < CONFIG_SIZE) {
        printf("%s acs=none\n", bdf);
        return 0;
    }
    int at = EXT_START;
    /* Each capability is at least 4 bytes and dword aligned: at most 960 of them. */
    for (int guard = 0; at >= EXT_START && at <= CONFIG_SIZE - 8 && guard < 960; guard++) {
        uint32_t h = dword(b, at);
        if (h == 0 || h == 0xffffffffu) break;
        if ((h & 0xffff) == ACS_ID) {
            printf("%s acs=0x%03x:0x%04x:0x%04x\n", bdf, at, word(b, at + 4), word(b, at + 6));
            return 0;
        }
        at = (int)((h >> 20) & 0xffc);
    }
    printf("%s acs=none\n", bdf);
    return 0;
}

int main(int argc, char **argv) {
    int status = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: acsread CONFIG_FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) status |= report(argv[i]);
    return status;
}
