package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"estimator/web"
)

// assetServer serves the embedded static files under /assets/ with cache-busted
// URLs (?v=<content hash>) and a year-long immutable cache; text files are
// gzip-compressed once at start. In development it serves from disk, uncached.
type assetServer struct {
	files map[string]*asset
	dev   string
}

type asset struct {
	body, gz    []byte
	hash, ctype string
}

func newAssetServer(fsys fs.FS, devDir string) (*assetServer, error) {
	s := &assetServer{files: map[string]*asset{}, dev: devDir}
	if fsys == nil {
		return s, nil
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		if strings.HasSuffix(p, ".md") || strings.HasSuffix(p, "LICENSE") {
			ctype = "text/plain; charset=utf-8"
		}
		a := &asset{body: body, hash: hex.EncodeToString(sum[:])[:12], ctype: ctype}
		if compressible(ctype) && len(body) >= web.GzipMin {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			a.gz = buf.Bytes()
		}
		s.files[p] = a
		return nil
	})
	return s, err
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

// url is the cache-busted URL of an asset.
func (s *assetServer) url(name string) string {
	if a, ok := s.files[name]; ok && s.dev == "" {
		return "/assets/" + name + "?v=" + a.hash
	}
	return "/assets/" + name
}

func (s *assetServer) serve(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("file"), "/")
	if s.dev != "" {
		s.serveDev(c, name)
		return
	}
	a, ok := s.files[name]
	if !ok {
		c.Error(web.ErrNotFound)
		c.Abort()
		return
	}
	h := c.Writer.Header()
	if v := c.Query("v"); v == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.hash+`"`)
	h.Set("Content-Type", a.ctype)
	h.Add("Vary", "Accept-Encoding")
	if match := c.GetHeader("If-None-Match"); match == `"`+a.hash+`"` {
		c.Status(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && web.AcceptsGzip(c.Request) {
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		c.Writer.Write(body)
	}
}

// serveDev reads the file from disk on every request so edits show at once.
func (s *assetServer) serveDev(c *gin.Context, name string) {
	clean := path.Clean("/" + name)[1:]
	body, err := os.ReadFile(path.Join(s.dev, clean))
	if err != nil || clean == "" {
		c.Error(web.ErrNotFound)
		c.Abort()
		return
	}
	ctype := mime.TypeByExtension(path.Ext(clean))
	if ctype == "" {
		ctype = http.DetectContentType(body)
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, ctype, body)
}
