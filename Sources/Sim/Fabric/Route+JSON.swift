// A route as JSON (`simrun route --format json`): the same hops, verdicts and fix the text form prints.

extension Route {
    /// The route as a JSON object: the request, each hop (where, what kind of step, and the text line), the result
    /// with the fix when blocked, and the completion's hops.
    public func json(_ fabric: Fabric) -> JSON {
        func hops(_ list: [Hop], _ tlp: TLPKind) -> JSON {
            .array(list.map { hop in
                .object([("location", .string(fabric.describe(hop.location))), ("action", .string(Self.actionName(hop.action))),
                         ("text", .string(line(hop, fabric, tlp: tlp).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")))])
            })
        }
        var result: [(String, JSON)]
        switch outcome {
        case .delivered(let d):
            let to: String
            switch d {
            case .function(let f): to = fabric.name(f)
            case .memory: to = "system memory"
            case .translationAgent: to = "translation agent"
            }
            result = [("verdict", .string("delivered")), ("to", .string(to)), ("through_root_complex", .bool(throughRootComplex)),
                      ("redirected_at", .array(redirectedAt.map { .string(fabric.bdf($0).description) }))]
        case .blocked(let at, let reason):
            result = [("verdict", .string("blocked")), ("at", .string(fabric.describe(at))), ("rule", .string(reason.rule)),
                      ("fix", .string(reason.remedy(at: at, fabric: fabric)))]
        }
        return .object([
            ("request", .object([("kind", .string(request.kind.mnemonic)), ("requester", .string(fabric.name(request.requester))),
                                 ("requester_bdf", .string(fabric.bdf(request.requester).description)),
                                 ("address", .string("0x" + hex(request.address, 1))), ("address_type", .string(request.addressType.text)),
                                 ("relaxed_ordering", .bool(request.relaxedOrdering))])),
            ("hops", hops(self.hops, request.kind)),
            ("result", .object(result)),
            ("completion", hops(completionHops, completionKind)),
        ])
    }

    /// A step's kind, one word: `issue`, `route-up`, `redirect-rr`, `blocked`...
    static func actionName(_ action: HopAction) -> String {
        switch action {
        case .issue: "issue"
        case .routeUp: "route-up"
        case .routeDown: "route-down"
        case .peerRoute: "peer-route"
        case .redirect(let bit): bit == .requestRedirect ? "redirect-rr" : "redirect-cr"
        case .upstreamForward: "upstream-forward"
        case .translate: "translate"
        case .rootComplexForward: "root-complex-forward"
        case .crossSocket: "cross-socket"
        case .chipForward: "chip-forward"
        case .deliver: "deliver"
        case .blocked: "blocked"
        }
    }
}
