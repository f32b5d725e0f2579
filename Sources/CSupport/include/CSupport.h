// C support for PCIeSim: embedded XSD schemas and a small, hardened libxml2 API.
// libxml2's own headers stay out of Swift (they pull in ICU, which clashes with Foundation's).
#ifndef PCIESIM_CSUPPORT_H
#define PCIESIM_CSUPPORT_H
#include <stddef.h>

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

#endif
