// The VFIO type1 and iommufd ioctls for the real mapping backends (Swift cannot call the variadic ioctl).
// Every function returns 0 (or a non-negative result) on success and -errno on failure, exactly as the
// kernel answered; nothing is retried or reinterpreted here.
#include "CSupport.h"

#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

// iommufd's uapi as Linux 6.2 released it (include/uapi/linux/iommufd.h: IOMMUFD_TYPE ';', the command numbers
// from IOMMUFD_CMD_BASE 0x80 in enum order, struct iommu_ioas_alloc, _iova_ranges, _allow_iovas, _map, _unmap).
// Debian 12's linux-libc-dev has 6.1 headers without it, so the structures and numbers are spelled out here,
// field for field. Checked with _Static_assert against Linux 6.12's include/uapi/linux/iommufd.h and vfio.h: every
// ioctl number, struct size and the offsets of the 64-bit fields are equal.
#define PCIESIM_IOMMUFD_TYPE (';')
enum {
    PCIESIM_IOMMUFD_CMD_BASE = 0x80,
    PCIESIM_IOMMUFD_CMD_DESTROY = PCIESIM_IOMMUFD_CMD_BASE,
    PCIESIM_IOMMUFD_CMD_IOAS_ALLOC,
    PCIESIM_IOMMUFD_CMD_IOAS_ALLOW_IOVAS,
    PCIESIM_IOMMUFD_CMD_IOAS_COPY,
    PCIESIM_IOMMUFD_CMD_IOAS_IOVA_RANGES,
    PCIESIM_IOMMUFD_CMD_IOAS_MAP,
    PCIESIM_IOMMUFD_CMD_IOAS_UNMAP,
};
struct pciesim_iommu_ioas_alloc { __u32 size; __u32 flags; __u32 out_ioas_id; };
struct pciesim_iommu_iova_range { __aligned_u64 start; __aligned_u64 last; };
struct pciesim_iommu_ioas_iova_ranges {
    __u32 size; __u32 ioas_id; __u32 num_iovas; __u32 __reserved;
    __aligned_u64 allowed_iovas; __aligned_u64 out_iova_alignment;
};
struct pciesim_iommu_ioas_allow_iovas {
    __u32 size; __u32 ioas_id; __u32 num_iovas; __u32 __reserved; __aligned_u64 allowed_iovas;
};
struct pciesim_iommu_ioas_map {
    __u32 size; __u32 flags; __u32 ioas_id; __u32 __reserved;
    __aligned_u64 user_va; __aligned_u64 length; __aligned_u64 iova;
};
struct pciesim_iommu_ioas_unmap { __u32 size; __u32 ioas_id; __aligned_u64 iova; __aligned_u64 length; };
#define PCIESIM_IOMMU_IOAS_ALLOC _IO(PCIESIM_IOMMUFD_TYPE, PCIESIM_IOMMUFD_CMD_IOAS_ALLOC)
#define PCIESIM_IOMMU_IOAS_ALLOW_IOVAS _IO(PCIESIM_IOMMUFD_TYPE, PCIESIM_IOMMUFD_CMD_IOAS_ALLOW_IOVAS)
#define PCIESIM_IOMMU_IOAS_IOVA_RANGES _IO(PCIESIM_IOMMUFD_TYPE, PCIESIM_IOMMUFD_CMD_IOAS_IOVA_RANGES)
#define PCIESIM_IOMMU_IOAS_MAP _IO(PCIESIM_IOMMUFD_TYPE, PCIESIM_IOMMUFD_CMD_IOAS_MAP)
#define PCIESIM_IOMMU_IOAS_UNMAP _IO(PCIESIM_IOMMUFD_TYPE, PCIESIM_IOMMUFD_CMD_IOAS_UNMAP)

// The VFIO device cdev ioctls of Linux 6.6 (include/uapi/linux/vfio.h, VFIO_DEVICE_BIND_IOMMUFD and
// VFIO_DEVICE_ATTACH_IOMMUFD_PT), also missing from 6.1 headers.
struct pciesim_vfio_device_bind_iommufd { __u32 argsz; __u32 flags; __s32 iommufd; __u32 out_devid; };
struct pciesim_vfio_device_attach_iommufd_pt { __u32 argsz; __u32 flags; __u32 pt_id; };
#define PCIESIM_VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#define PCIESIM_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

static int answer(int rc) { return rc < 0 ? -errno : rc; }

int pciesim_open_rdwr(const char *path) { return answer(open(path, O_RDWR | O_CLOEXEC)); }
int pciesim_close(int fd) { return answer(close(fd)); }

int pciesim_vfio_get_api_version(int container) { return answer(ioctl(container, VFIO_GET_API_VERSION)); }
int pciesim_vfio_check_extension(int container, unsigned extension) {
    return answer(ioctl(container, VFIO_CHECK_EXTENSION, (unsigned long)extension));
}

int pciesim_vfio_group_get_status(int group, unsigned *flags) {
    struct vfio_group_status status = { .argsz = sizeof(status) };
    int rc = answer(ioctl(group, VFIO_GROUP_GET_STATUS, &status));
    *flags = status.flags;
    return rc;
}

int pciesim_vfio_group_set_container(int group, int container) {
    return answer(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
}

int pciesim_vfio_set_iommu(int container, unsigned type) {
    return answer(ioctl(container, VFIO_SET_IOMMU, (unsigned long)type));
}

// VFIO_IOMMU_GET_INFO with its capability chain: first with the bare structure to learn argsz, then again with
// room for the chain; walks VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE and _DMA_AVAIL.
int pciesim_vfio_iommu_get_info(int container, uint32_t *flags, uint64_t *pgsizes, uint64_t *ranges,
                                uint32_t max_ranges, uint32_t *nr_ranges, int64_t *dma_avail) {
    struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
    *nr_ranges = 0;
    *dma_avail = -1;
    int rc = answer(ioctl(container, VFIO_IOMMU_GET_INFO, &probe));
    if (rc < 0) return rc;
    size_t size = probe.argsz > sizeof(probe) ? probe.argsz : sizeof(probe);
    struct vfio_iommu_type1_info *info = calloc(1, size);
    if (!info) return -ENOMEM;
    info->argsz = (uint32_t)size;
    rc = answer(ioctl(container, VFIO_IOMMU_GET_INFO, info));
    if (rc < 0) { free(info); return rc; }
    *flags = info->flags;
    *pgsizes = info->iova_pgsizes;
    if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset >= sizeof(*info)) {
        uint32_t offset = info->cap_offset;
        int guard = 0;
        while (offset && offset + sizeof(struct vfio_info_cap_header) <= size && guard++ < 64) {
            struct vfio_info_cap_header *h = (struct vfio_info_cap_header *)((char *)info + offset);
            if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
                struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
                for (uint32_t i = 0; i < r->nr_iovas; i++) {
                    if (i < max_ranges) { ranges[2 * i] = r->iova_ranges[i].start; ranges[2 * i + 1] = r->iova_ranges[i].end; }
                }
                *nr_ranges = r->nr_iovas;
            } else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
                *dma_avail = ((struct vfio_iommu_type1_info_dma_avail *)h)->avail;
            }
            offset = h->next;
        }
    }
    free(info);
    return 0;
}

int pciesim_vfio_map_dma(int container, uint32_t argsz, uint32_t flags, uint64_t vaddr, uint64_t iova, uint64_t size) {
    struct vfio_iommu_type1_dma_map map = { .argsz = argsz, .flags = flags, .vaddr = vaddr, .iova = iova, .size = size };
    return answer(ioctl(container, VFIO_IOMMU_MAP_DMA, &map));
}

int pciesim_vfio_unmap_dma(int container, uint32_t argsz, uint32_t flags, uint64_t iova, uint64_t *size) {
    struct vfio_iommu_type1_dma_unmap unmap = { .argsz = argsz, .flags = flags, .iova = iova, .size = *size };
    int rc = answer(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
    *size = unmap.size;
    return rc;
}

void *pciesim_mmap_anonymous(uint64_t size, int *error) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { *error = errno; return NULL; }
    memset(p, 0, size);   // touch every page: the memory exists before VFIO pins it
    *error = 0;
    return p;
}
int pciesim_munmap(void *address, uint64_t size) { return answer(munmap(address, size)); }

int pciesim_iommufd_ioas_alloc(int fd, uint32_t *ioas) {
    struct pciesim_iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
    int rc = answer(ioctl(fd, PCIESIM_IOMMU_IOAS_ALLOC, &cmd));
    *ioas = cmd.out_ioas_id;
    return rc;
}

int pciesim_iommufd_iova_ranges(int fd, uint32_t ioas, uint64_t *ranges, uint32_t max_ranges, uint32_t *num,
                                uint64_t *alignment) {
    struct pciesim_iommu_iova_range *buffer = calloc(max_ranges ? max_ranges : 1, sizeof(*buffer));
    if (!buffer) return -ENOMEM;
    struct pciesim_iommu_ioas_iova_ranges cmd = {
        .size = sizeof(cmd), .ioas_id = ioas, .num_iovas = max_ranges, .allowed_iovas = (uintptr_t)buffer };
    int rc = answer(ioctl(fd, PCIESIM_IOMMU_IOAS_IOVA_RANGES, &cmd));
    *num = cmd.num_iovas;
    *alignment = cmd.out_iova_alignment;
    for (uint32_t i = 0; rc == 0 && i < cmd.num_iovas && i < max_ranges; i++) {
        ranges[2 * i] = buffer[i].start;
        ranges[2 * i + 1] = buffer[i].last;
    }
    free(buffer);
    return rc;
}

int pciesim_iommufd_allow_iovas(int fd, uint32_t ioas, const uint64_t *ranges, uint32_t num) {
    struct pciesim_iommu_iova_range *buffer = calloc(num ? num : 1, sizeof(*buffer));
    if (!buffer) return -ENOMEM;
    for (uint32_t i = 0; i < num; i++) { buffer[i].start = ranges[2 * i]; buffer[i].last = ranges[2 * i + 1]; }
    struct pciesim_iommu_ioas_allow_iovas cmd = {
        .size = sizeof(cmd), .ioas_id = ioas, .num_iovas = num, .allowed_iovas = (uintptr_t)buffer };
    int rc = answer(ioctl(fd, PCIESIM_IOMMU_IOAS_ALLOW_IOVAS, &cmd));
    free(buffer);
    return rc;
}

int pciesim_iommufd_map(int fd, uint32_t ioas, uint32_t flags, uint64_t user_va, uint64_t length, uint64_t *iova) {
    struct pciesim_iommu_ioas_map cmd = {
        .size = sizeof(cmd), .flags = flags, .ioas_id = ioas, .user_va = user_va, .length = length, .iova = *iova };
    int rc = answer(ioctl(fd, PCIESIM_IOMMU_IOAS_MAP, &cmd));
    *iova = cmd.iova;
    return rc;
}

int pciesim_iommufd_unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t *length) {
    struct pciesim_iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = *length };
    int rc = answer(ioctl(fd, PCIESIM_IOMMU_IOAS_UNMAP, &cmd));
    *length = cmd.length;
    return rc;
}

int pciesim_vfio_device_bind_iommufd(int device, int iommufd, uint32_t *devid) {
    struct pciesim_vfio_device_bind_iommufd cmd = { .argsz = sizeof(cmd), .iommufd = iommufd };
    int rc = answer(ioctl(device, PCIESIM_VFIO_DEVICE_BIND_IOMMUFD, &cmd));
    *devid = cmd.out_devid;
    return rc;
}

int pciesim_vfio_device_attach_ioas(int device, uint32_t ioas) {
    struct pciesim_vfio_device_attach_iommufd_pt cmd = { .argsz = sizeof(cmd), .pt_id = ioas };
    return answer(ioctl(device, PCIESIM_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd));
}

int pciesim_vfio_available(void) { return 1; }

#else
// Not Linux: no VFIO. The Swift backends check pciesim_vfio_available() first and say so.
int pciesim_vfio_available(void) { return 0; }
int pciesim_open_rdwr(const char *path) { (void)path; return -38; }
#endif
