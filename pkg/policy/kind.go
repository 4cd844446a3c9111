package policy

// Kind is the kind of feature a decision is about. Every method that
// returns server data is decided as a use of a tool, a resource or a
// prompt: a completion or a subscription as a use of the resource or
// prompt it names.
type Kind uint8

// Feature kinds; a bitmask in targets.
const (
	KindTool Kind = 1 << iota
	KindResource
	KindPrompt
)

var kindNames = map[string]Kind{"tool": KindTool, "resource": KindResource, "prompt": KindPrompt}

func (k Kind) String() string {
	switch k {
	case KindResource:
		return "resource"
	case KindPrompt:
		return "prompt"
	default:
		return "tool"
	}
}

// Toolsets of the features that are not tools, for rules written by
// toolset.
const (
	ResourceToolset = "resources"
	PromptToolset   = "prompts"
)
