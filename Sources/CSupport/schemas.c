// The XSD schemas, compiled in from their files so the repo keeps one copy of each (C23 #embed).
#pragma clang diagnostic ignored "-Wc23-extensions"
#include "CSupport.h"

static const unsigned char topology_xsd[] = {
#embed "../../topologies/topology.xsd"
    , 0
};
const unsigned char *pciesim_topology_xsd(void) { return topology_xsd; }
size_t pciesim_topology_xsd_size(void) { return sizeof(topology_xsd) - 1; }

static const unsigned char conformance_xsd[] = {
#embed "../../conformance/conformance.xsd"
    , 0
};
const unsigned char *pciesim_conformance_xsd(void) { return conformance_xsd; }
size_t pciesim_conformance_xsd_size(void) { return sizeof(conformance_xsd) - 1; }

static const unsigned char scenario_xsd[] = {
#embed "../../scenarios/scenario.xsd"
    , 0
};
const unsigned char *pciesim_scenario_xsd(void) { return scenario_xsd; }
size_t pciesim_scenario_xsd_size(void) { return sizeof(scenario_xsd) - 1; }

static const unsigned char suite_xsd[] = {
#embed "../../reports/suite.xsd"
    , 0
};
const unsigned char *pciesim_suite_xsd(void) { return suite_xsd; }
size_t pciesim_suite_xsd_size(void) { return sizeof(suite_xsd) - 1; }

static const unsigned char plan_xsd[] = {
#embed "../../plans/plan.xsd"
    , 0
};
const unsigned char *pciesim_plan_xsd(void) { return plan_xsd; }
size_t pciesim_plan_xsd_size(void) { return sizeof(plan_xsd) - 1; }

static const unsigned char fidelity_xsd[] = {
#embed "../../fidelity/fidelity.xsd"
    , 0
};
const unsigned char *pciesim_fidelity_xsd(void) { return fidelity_xsd; }
size_t pciesim_fidelity_xsd_size(void) { return sizeof(fidelity_xsd) - 1; }

static const unsigned char mapping_xsd[] = {
#embed "../../mapping/mapping.xsd"
    , 0
};
const unsigned char *pciesim_mapping_xsd(void) { return mapping_xsd; }
size_t pciesim_mapping_xsd_size(void) { return sizeof(mapping_xsd) - 1; }
