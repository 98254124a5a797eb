// Command gotemplate renders an Ollama TEMPLATE the way Ollama does (template/template.go):
// text/template with missingkey=zero and Ollama's functions, {{ .Response }} appended to
// templates that name neither .Messages nor .Response, consecutive messages of one role
// collated, and the data .Messages (.Role/.Content), .System, .Prompt, .Response. Templates
// without .Messages take Ollama's legacy path (one execution per user turn, the last one cut
// after .Response). Standard library only, so it builds offline.
//
// stdin: {"template": "...", "messages": [{"role": "...", "content": "..."}], "parse_only": false}
// stdout: the rendered prompt; exit status 2 with the error on stderr when Ollama would refuse.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type request struct {
	Template  string    `json:"template"`
	Messages  []Message `json:"messages"`
	ParseOnly bool      `json:"parse_only"`
}

// templateMessage mirrors the fields of Ollama's templateMessage that a chat template reads.
type templateMessage struct {
	Role       string
	Content    string
	Thinking   string
	Images     []string
	ToolCalls  []any
	ToolName   string
	ToolCallID string
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate":      func(args ...string) string { return time.Now().Format("2006-01-02") },
	"yesterdayDate":    func(args ...string) string { return time.Now().AddDate(0, 0, -1).Format("2006-01-02") },
	"toTypeScriptType": func(v any) string { return "any" },
}

var response = parse.ActionNode{
	NodeType: parse.NodeAction,
	Pipe: &parse.PipeNode{
		NodeType: parse.NodePipe,
		Cmds: []*parse.CommandNode{{
			NodeType: parse.NodeCommand,
			Args:     []parse.Node{&parse.FieldNode{NodeType: parse.NodeField, Ident: []string{"Response"}}},
		}},
	},
}

func parseTemplate(s string) (*template.Template, []string, error) {
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(s)
	if err != nil {
		return nil, nil, err
	}
	vars, err := templateVars(tmpl)
	if err != nil {
		return nil, nil, err
	}
	if !contains(vars, "messages") && !contains(vars, "response") {
		tmpl.Tree.Root.Nodes = append(tmpl.Tree.Root.Nodes, &response)
	}
	return tmpl, vars, nil
}

func templateVars(t *template.Template) ([]string, error) {
	var vars []string
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		for _, n := range tt.Root.Nodes {
			v, err := identifiers(n)
			if err != nil {
				return vars, err
			}
			vars = append(vars, v...)
		}
	}
	set := map[string]bool{}
	for _, v := range vars {
		set[strings.ToLower(v)] = true
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

func identifiers(n parse.Node) ([]string, error) {
	switch n := n.(type) {
	case *parse.ListNode:
		var names []string
		for _, c := range n.Nodes {
			i, err := identifiers(c)
			if err != nil {
				return names, err
			}
			names = append(names, i...)
		}
		return names, nil
	case *parse.TemplateNode:
		if n.Pipe == nil {
			return nil, fmt.Errorf("undefined template specified")
		}
		return identifiers(n.Pipe)
	case *parse.ActionNode:
		if n.Pipe == nil {
			return nil, fmt.Errorf("undefined action in template")
		}
		return identifiers(n.Pipe)
	case *parse.BranchNode:
		if n.Pipe == nil {
			return nil, fmt.Errorf("undefined branch")
		}
		names, err := identifiers(n.Pipe)
		if err != nil {
			return names, err
		}
		for _, l := range []*parse.ListNode{n.List, n.ElseList} {
			if l != nil {
				i, err := identifiers(l)
				if err != nil {
					return names, err
				}
				names = append(names, i...)
			}
		}
		return names, nil
	case *parse.IfNode:
		return identifiers(&n.BranchNode)
	case *parse.RangeNode:
		return identifiers(&n.BranchNode)
	case *parse.WithNode:
		return identifiers(&n.BranchNode)
	case *parse.PipeNode:
		var names []string
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				i, err := identifiers(a)
				if err != nil {
					return names, err
				}
				names = append(names, i...)
			}
		}
		return names, nil
	case *parse.FieldNode:
		return n.Ident, nil
	case *parse.VariableNode:
		return n.Ident, nil
	}
	return nil, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func collate(msgs []Message) (string, []*Message) {
	var system []string
	var collated []*Message
	for i := range msgs {
		if msgs[i].Role == "system" {
			system = append(system, msgs[i].Content)
		}
		if len(collated) > 0 && collated[len(collated)-1].Role == msgs[i].Role && msgs[i].Role != "tool" {
			collated[len(collated)-1].Content += "\n\n" + msgs[i].Content
		} else {
			collated = append(collated, &msgs[i])
		}
	}
	return strings.Join(system, "\n\n"), collated
}

func execute(tmpl *template.Template, vars []string, msgs []Message, w io.Writer) error {
	system, messages := collate(msgs)
	if contains(vars, "messages") {
		converted := make([]*templateMessage, len(messages))
		for i, m := range messages {
			converted[i] = &templateMessage{Role: m.Role, Content: m.Content}
		}
		return tmpl.Execute(w, map[string]any{
			"System": system, "Messages": converted, "Tools": nil, "Response": "",
			"Think": false, "ThinkLevel": "", "IsThinkSet": false,
		})
	}
	// Ollama's legacy path: .System/.Prompt/.Response, one execution per exchange.
	system = ""
	var b bytes.Buffer
	var prompt, resp string
	run := func() error {
		err := tmpl.Execute(&b, map[string]any{"System": system, "Prompt": prompt, "Response": resp,
			"Think": false, "ThinkLevel": "", "IsThinkSet": false})
		system, prompt, resp = "", "", ""
		return err
	}
	for _, m := range messages {
		switch m.Role {
		case "system":
			if prompt != "" || resp != "" {
				if err := run(); err != nil {
					return err
				}
			}
			system = m.Content
		case "user":
			if resp != "" {
				if err := run(); err != nil {
					return err
				}
			}
			prompt = m.Content
		case "assistant":
			resp = m.Content
		}
	}
	var cut bool
	nodes := deleteNode(tmpl.Root.Copy(), func(n parse.Node) bool {
		if field, ok := n.(*parse.FieldNode); ok && contains(field.Ident, "Response") {
			cut = true
			return false
		}
		return cut
	})
	tree := parse.Tree{Root: nodes.(*parse.ListNode)}
	last := template.Must(template.New("").AddParseTree("", &tree))
	if err := last.Execute(&b, map[string]any{"System": system, "Prompt": prompt, "Response": resp,
		"Think": false, "ThinkLevel": "", "IsThinkSet": false}); err != nil {
		return err
	}
	_, err := io.Copy(w, &b)
	return err
}

func deleteNode(n parse.Node, fn func(parse.Node) bool) parse.Node {
	var walk func(n parse.Node) parse.Node
	walk = func(n parse.Node) parse.Node {
		if fn(n) {
			return nil
		}
		switch t := n.(type) {
		case *parse.ListNode:
			var nodes []parse.Node
			for _, c := range t.Nodes {
				if n := walk(c); n != nil {
					nodes = append(nodes, n)
				}
			}
			t.Nodes = nodes
			return t
		case *parse.IfNode:
			t.BranchNode = *walk(&t.BranchNode).(*parse.BranchNode)
		case *parse.WithNode:
			t.BranchNode = *walk(&t.BranchNode).(*parse.BranchNode)
		case *parse.RangeNode:
			t.BranchNode = *walk(&t.BranchNode).(*parse.BranchNode)
		case *parse.BranchNode:
			t.List = walk(t.List).(*parse.ListNode)
			if t.ElseList != nil {
				t.ElseList = walk(t.ElseList).(*parse.ListNode)
			}
		case *parse.ActionNode:
			n := walk(t.Pipe)
			if n == nil {
				return nil
			}
			t.Pipe = n.(*parse.PipeNode)
		case *parse.PipeNode:
			var commands []*parse.CommandNode
			for _, c := range t.Cmds {
				var args []parse.Node
				for _, a := range c.Args {
					if n := walk(a); n != nil {
						args = append(args, n)
					}
				}
				if len(args) == 0 {
					return nil
				}
				c.Args = args
				commands = append(commands, c)
			}
			if len(commands) == 0 {
				return nil
			}
			t.Cmds = commands
		}
		return n
	}
	return walk(n)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	tmpl, vars, err := parseTemplate(req.Template)
	if err != nil {
		fail(err)
	}
	if req.ParseOnly {
		return
	}
	var out bytes.Buffer
	if err := execute(tmpl, vars, req.Messages, &out); err != nil {
		fail(err)
	}
	os.Stdout.Write(out.Bytes())
}
