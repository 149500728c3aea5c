package filestore_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/internal/s3test"
)

// TestPutRefusesZipBombDocx stores a real, valid docx whose one extra part
// is 8 GB of zeros deflated to a few megabytes: the archive claims to expand
// implausibly, so it is refused without ever being unpacked, and nothing is
// stored.
func TestPutRefusesZipBombDocx(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		st := setup(t, blobURL)
		var bomb bytes.Buffer
		zw := zip.NewWriter(&bomb)
		docx := MustDocx(t)
		zr, err := zip.NewReader(bytes.NewReader(docx), int64(len(docx)))
		require.NoError(t, err)
		for _, f := range zr.File {
			require.NoError(t, zw.Copy(f))
		}
		// A deflated run of zeros: 1 MB of output per ~1 KB; claim 8 GB by
		// writing the stream once and recording the size it would expand to.
		var raw bytes.Buffer
		fw, err := flate.NewWriter(&raw, flate.BestCompression)
		require.NoError(t, err)
		zeros := make([]byte, 1<<20)
		for range 64 {
			_, err = fw.Write(zeros)
			require.NoError(t, err)
		}
		require.NoError(t, fw.Close())
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/media/image1.bin", Method: zip.Deflate,
			CompressedSize64: uint64(raw.Len()), UncompressedSize64: 8 << 30, CRC32: 0})
		require.NoError(t, err)
		_, err = w.Write(raw.Bytes())
		require.NoError(t, err)
		require.NoError(t, zw.Close())

		obj, err := st.Put(context.Background(), bytes.NewReader(bomb.Bytes()), "essay.docx", 100<<20)
		requireCode(t, err, optio.EUNSUPPORTED)
		require.Nil(t, obj)
		require.Contains(t, err.Error(), "expand")
		sum := sha256.Sum256(bomb.Bytes())
		_, err = st.Open(context.Background(), filestore.KeyFor(hex.EncodeToString(sum[:])))
		requireCode(t, err, optio.ENOTFOUND)
	})
}
