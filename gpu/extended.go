package gpu

import (
	"fmt"
	"slices"
	"strings"
)

// Catalog is the classes a run may name: the built-in catalog (Lookup)
// and classes added to it, such as the measured hardware profiles a
// scenario loads (gpu/profile). Runners resolve every GPU name through
// one, so a scenario that names a measured class runs on its figures.
//
// The nil *Catalog is the built-in catalog alone. A Catalog is immutable
// once made, so runs may share it.
type Catalog struct {
	added []Class // sorted by lower-case name
}

// NewCatalog is the built-in catalog with the given classes added. Each
// must Validate, and its name must be new: a measured class may not
// shadow a datasheet class or another measured one.
func NewCatalog(added ...Class) (*Catalog, error) {
	c := &Catalog{}
	for _, a := range added {
		if err := a.Validate(); err != nil {
			return nil, err
		}
		if _, ok := c.Lookup(a.Name); ok {
			return nil, fmt.Errorf("gpu: class %q is defined twice (a measured class needs a name of its own; the built-in catalog has %s)", a.Name, strings.Join(Names(), ", "))
		}
		c.added = append(c.added, a)
	}
	slices.SortFunc(c.added, func(x, y Class) int { return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) })
	return c, nil
}

// Lookup returns the class with the given name, ignoring case: an added
// class, else a built-in one.
func (c *Catalog) Lookup(name string) (Class, bool) {
	if c != nil {
		for _, a := range c.added {
			if strings.EqualFold(a.Name, name) {
				return a, true
			}
		}
	}
	return Lookup(name)
}

// Names returns every name the catalog resolves: the built-in ones, then
// the added ones, each part sorted. The slice is the caller's.
func (c *Catalog) Names() []string {
	names := Names()
	if c != nil {
		for _, a := range c.added {
			names = append(names, a.Name)
		}
	}
	return names
}

// Added returns the classes added to the built-in catalog, sorted by
// name. The slice is the caller's.
func (c *Catalog) Added() []Class {
	if c == nil {
		return nil
	}
	return slices.Clone(c.added)
}
