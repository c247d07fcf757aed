// Package views holds the templ components: layout, pages and the fragments htmx
// swaps. Components take the data they show; the current user and page-wide
// facts come from the context.
package views

import (
	"context"

	"github.com/a-h/templ"

	"estimator/i18n"
	"estimator/store"
)

type pageKey struct{}

// Page is what every page needs beyond its own data.
type Page struct {
	User store.User
	// Notice is a one-time message (flash) shown at the top of the page.
	Notice string
	// NoticeError marks the notice as an error.
	NoticeError bool
	// Asset maps a file under assets/ to its cache-busted URL.
	Asset func(name string) string
	// BaseURL is the scheme and host the app is reached at, for links to copy.
	BaseURL string
	// Lang is the language the page is written in ("" reads as English).
	Lang i18n.Lang
}

// WithPage stores page facts in the context.
func WithPage(ctx context.Context, p *Page) context.Context {
	return context.WithValue(ctx, pageKey{}, p)
}

// PageFrom returns the page facts (an empty anonymous page when absent).
func PageFrom(ctx context.Context) *Page {
	if p, ok := ctx.Value(pageKey{}).(*Page); ok {
		return p
	}
	return &Page{}
}

// CurrentUser is the signed-in user, or store.Anonymous.
func CurrentUser(ctx context.Context) store.User { return PageFrom(ctx).User }

// Lang is the language the page is written in.
func Lang(ctx context.Context) i18n.Lang {
	if l := PageFrom(ctx).Lang; l != "" {
		return l
	}
	return i18n.EN
}

// t is a message of the page's language (i18n/locales).
func t(ctx context.Context, id string) string { return Lang(ctx).T(id) }

// tf is a message with placeholders.
func tf(ctx context.Context, id string, data map[string]any) string { return Lang(ctx).F(id, data) }

// tn is a message that depends on a count.
func tn(ctx context.Context, id string, n int, data map[string]any) string {
	return Lang(ctx).N(id, n, data)
}

func asset(ctx context.Context, name string) string {
	if p := PageFrom(ctx); p.Asset != nil {
		return p.Asset(name)
	}
	return "/assets/" + name
}

func absURL(ctx context.Context, path string) string { return PageFrom(ctx).BaseURL + path }

// FieldErrors maps a form field name to its message.
type FieldErrors map[string]string

// Has reports whether field has an error.
func (e FieldErrors) Has(field string) bool { _, ok := e[field]; return ok }

// aria marks a field with an error as invalid. A field without one gets no
// aria-invalid at all: "false" would make it look checked and approved.
func (e FieldErrors) aria(field string) templ.Attributes {
	if e.Has(field) {
		return templ.Attributes{"aria-invalid": "true"}
	}
	return nil
}
