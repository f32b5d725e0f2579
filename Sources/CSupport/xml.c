// Hardened libxml2 access: no external entities, no DTD loading, no network, errors with line numbers.
#include "CSupport.h"
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlschemas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static xmlParserInputPtr refuse_external_entity(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
    (void)url; (void)id; (void)ctxt;
    return NULL;   // a document never makes PCIeSim open a file or a URL
}

static void init_libxml(void) {
    xmlInitParser();
    xmlSetExternalEntityLoader(refuse_external_entity);
}

struct reporter { pciesim_error_fn fn; void *context; };

static void structured_error(void *data, xmlErrorPtr error) {
    struct reporter *r = data;
    if (!r || !r->fn || !error) return;
    int level = error->level == XML_ERR_WARNING ? 1 : error->level == XML_ERR_FATAL ? 3 : 2;
    r->fn(r->context, error->line, level, error->message ? error->message : "XML error");
}

static void silent(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }

void *pciesim_xml_read(const char *bytes, int length, pciesim_error_fn report, void *context) {
    pthread_once(&once, init_libxml);
    struct reporter r = { report, context };
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) return NULL;
    xmlSetGenericErrorFunc(NULL, silent);
    xmlSetStructuredErrorFunc(&r, structured_error);
    // No XML_PARSE_NOENT (entities are never substituted), no DTDLOAD/DTDATTR/DTDVALID, no HUGE
    // (keeps libxml2's depth and text-size limits), NONET as a second lock on the network.
    int options = XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, bytes, length, NULL, "UTF-8", options);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlFreeParserCtxt(ctxt);
    return doc;
}

int pciesim_xml_has_dtd(void *doc) {
    xmlDocPtr d = doc;
    return d && (d->intSubset != NULL || d->extSubset != NULL);
}
void *pciesim_xml_root(void *doc) { return xmlDocGetRootElement((xmlDocPtr)doc); }
void pciesim_xml_free(void *doc) { if (doc) xmlFreeDoc((xmlDocPtr)doc); }

// Compiled schemas, keyed by the address of their embedded text. xmlSchemaPtr is read-only once built.
#define MAX_SCHEMAS 8
static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;
static const unsigned char *schema_keys[MAX_SCHEMAS];
static xmlSchemaPtr schema_values[MAX_SCHEMAS];

static xmlSchemaPtr compiled_schema(const unsigned char *xsd, size_t length) {
    pthread_mutex_lock(&schema_lock);
    xmlSchemaPtr found = NULL;
    int i;
    for (i = 0; i < MAX_SCHEMAS && schema_keys[i]; i++)
        if (schema_keys[i] == xsd) { found = schema_values[i]; break; }
    if (!found && i < MAX_SCHEMAS) {
        xmlSchemaParserCtxtPtr p = xmlSchemaNewMemParserCtxt((const char *)xsd, (int)length);
        if (p) {
            found = xmlSchemaParse(p);
            xmlSchemaFreeParserCtxt(p);
            if (found) { schema_keys[i] = xsd; schema_values[i] = found; }
        }
    }
    pthread_mutex_unlock(&schema_lock);
    return found;
}

int pciesim_xml_validate(void *doc, const unsigned char *xsd, size_t xsd_length, pciesim_error_fn report, void *context) {
    pthread_once(&once, init_libxml);
    xmlSchemaPtr schema = compiled_schema(xsd, xsd_length);
    if (!schema) return -1;
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
    if (!v) return -1;
    struct reporter r = { report, context };
    xmlSchemaSetValidStructuredErrors(v, structured_error, &r);
    int result = xmlSchemaValidateDoc(v, (xmlDocPtr)doc);
    xmlSchemaFreeValidCtxt(v);
    return result;
}

void *pciesim_node_children(void *node) { return ((xmlNodePtr)node)->children; }
void *pciesim_node_next(void *node) { return ((xmlNodePtr)node)->next; }
int pciesim_node_kind(void *node) { return (int)((xmlNodePtr)node)->type; }
const char *pciesim_node_name(void *node) { return (const char *)((xmlNodePtr)node)->name; }
const char *pciesim_node_content(void *node) { return (const char *)((xmlNodePtr)node)->content; }
long pciesim_node_line(void *node) { return xmlGetLineNo((xmlNodePtr)node); }
void *pciesim_node_attributes(void *node) { return ((xmlNodePtr)node)->properties; }
void *pciesim_attribute_next(void *attribute) { return ((xmlAttrPtr)attribute)->next; }
const char *pciesim_attribute_name(void *attribute) { return (const char *)((xmlAttrPtr)attribute)->name; }
char *pciesim_attribute_value(void *attribute) {
    xmlAttrPtr a = attribute;
    xmlChar *v = xmlNodeListGetString(a->doc, a->children, 1);
    if (!v) return strdup("");
    char *copy = strdup((const char *)v);
    xmlFree(v);
    return copy;
}
void pciesim_free(void *pointer) { free(pointer); }
