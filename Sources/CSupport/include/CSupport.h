// C support for PCIeSim: embedded XSD schemas and a small, hardened libxml2 API.
// libxml2's own headers stay out of Swift (they pull in ICU, which clashes with Foundation's).
#ifndef PCIESIM_CSUPPORT_H
#define PCIESIM_CSUPPORT_H
#include <stddef.h>
#include <stdint.h>

/// Schemas compiled in with #embed from their files in the repo (NUL-terminated).
const unsigned char *pciesim_topology_xsd(void);
size_t pciesim_topology_xsd_size(void);
const unsigned char *pciesim_conformance_xsd(void);
size_t pciesim_conformance_xsd_size(void);
const unsigned char *pciesim_scenario_xsd(void);
size_t pciesim_scenario_xsd_size(void);
const unsigned char *pciesim_suite_xsd(void);
size_t pciesim_suite_xsd_size(void);
const unsigned char *pciesim_plan_xsd(void);
size_t pciesim_plan_xsd_size(void);
const unsigned char *pciesim_fidelity_xsd(void);
size_t pciesim_fidelity_xsd_size(void);
const unsigned char *pciesim_mapping_xsd(void);
size_t pciesim_mapping_xsd_size(void);

/// Receives one libxml2 error: line (0 if unknown), level (1 warning, 2 error, 3 fatal), message.
typedef void (*pciesim_error_fn)(void *context, int line, int level, const char *message);

/// Parses UTF-8 XML from memory with no network, no entity substitution, no DTD loading and big line
/// numbers. Returns an opaque document, or NULL after reporting the errors.
void *pciesim_xml_read(const char *bytes, int length, pciesim_error_fn report, void *context);
/// 1 when the document carries an internal or external DTD subset.
int pciesim_xml_has_dtd(void *doc);
void *pciesim_xml_root(void *doc);
void pciesim_xml_free(void *doc);

/// Validates against an XSD given as text (compiled once per text pointer and cached).
/// Returns 0 when valid, >0 when invalid, <0 when the schema itself does not compile.
int pciesim_xml_validate(void *doc, const unsigned char *xsd, size_t xsd_length, pciesim_error_fn report, void *context);

/// Tree walking. Kinds: 1 element, 3 text, 4 CDATA, other values: ignore.
void *pciesim_node_children(void *node);
void *pciesim_node_next(void *node);
int pciesim_node_kind(void *node);
const char *pciesim_node_name(void *node);
const char *pciesim_node_content(void *node);
long pciesim_node_line(void *node);
void *pciesim_node_attributes(void *node);
void *pciesim_attribute_next(void *attribute);
const char *pciesim_attribute_name(void *attribute);
/// The attribute's text value as a malloc'ed string; free it with pciesim_free.
char *pciesim_attribute_value(void *attribute);
void pciesim_free(void *pointer);

/// VFIO type1 and iommufd (vfio.c). Each returns 0 or a non-negative result, or -errno as the kernel answered.
/// pciesim_vfio_available() is 0 where the platform has no VFIO (then only it and pciesim_open_rdwr exist).
int pciesim_vfio_available(void);
int pciesim_open_rdwr(const char *path);
int pciesim_close(int fd);
int pciesim_vfio_get_api_version(int container);
int pciesim_vfio_check_extension(int container, unsigned extension);
int pciesim_vfio_group_get_status(int group, unsigned *flags);
int pciesim_vfio_group_set_container(int group, int container);
int pciesim_vfio_set_iommu(int container, unsigned type);
/// ranges: max_ranges (start, end) pairs; nr_ranges: how many the kernel has; dma_avail: -1 without the capability.
int pciesim_vfio_iommu_get_info(int container, uint32_t *flags, uint64_t *pgsizes, uint64_t *ranges,
                                uint32_t max_ranges, uint32_t *nr_ranges, int64_t *dma_avail);
int pciesim_vfio_map_dma(int container, uint32_t argsz, uint32_t flags, uint64_t vaddr, uint64_t iova, uint64_t size);
/// size: in, the size asked; out, the size the kernel unmapped.
int pciesim_vfio_unmap_dma(int container, uint32_t argsz, uint32_t flags, uint64_t iova, uint64_t *size);
void *pciesim_mmap_anonymous(uint64_t size, int *error);
int pciesim_munmap(void *address, uint64_t size);
int pciesim_iommufd_ioas_alloc(int fd, uint32_t *ioas);
int pciesim_iommufd_iova_ranges(int fd, uint32_t ioas, uint64_t *ranges, uint32_t max_ranges, uint32_t *num,
                                uint64_t *alignment);
int pciesim_iommufd_allow_iovas(int fd, uint32_t ioas, const uint64_t *ranges, uint32_t num);
/// iova: in, the IOVA asked (with IOMMU_IOAS_MAP_FIXED_IOVA); out, the IOVA the kernel mapped.
int pciesim_iommufd_map(int fd, uint32_t ioas, uint32_t flags, uint64_t user_va, uint64_t length, uint64_t *iova);
/// length: in, the length asked; out, the bytes unmapped.
int pciesim_iommufd_unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t *length);
int pciesim_vfio_device_bind_iommufd(int device, int iommufd, uint32_t *devid);
int pciesim_vfio_device_attach_ioas(int device, uint32_t ioas);

#endif
