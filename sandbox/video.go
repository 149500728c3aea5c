package sandbox

import (
	"bytes"
	"encoding/binary"
	"math"
)

// The sample video is H.264 (Baseline profile) in an MP4 container, written
// by hand: every macroblock is I_PCM, i.e. raw 4:2:0 samples inside a
// standard bitstream, so no encoder is needed and every browser plays it.
const (
	videoMBW    = 8 // width in 16-pixel macroblocks
	videoMBH    = 6 // height in macroblocks
	videoFrames = 16
	videoFPS    = 8
)

// bitWriter writes an H.264 RBSP bit by bit.
type bitWriter struct {
	buf  []byte
	cur  byte
	nbit int
}

func (w *bitWriter) bit(b uint) {
	w.cur = w.cur<<1 | byte(b&1)
	w.nbit++
	if w.nbit == 8 {
		w.buf = append(w.buf, w.cur)
		w.cur, w.nbit = 0, 0
	}
}

func (w *bitWriter) bits(v uint, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(v >> i)
	}
}

// ue writes an unsigned Exp-Golomb code.
func (w *bitWriter) ue(v uint) {
	v++
	n := 0
	for t := v; t > 1; t >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(v, n+1)
}

func (w *bitWriter) align() {
	for w.nbit != 0 {
		w.bit(0)
	}
}

// trailing writes rbsp_trailing_bits and returns the RBSP.
func (w *bitWriter) trailing() []byte {
	w.bit(1)
	w.align()
	return w.buf
}

// nal wraps an RBSP as a NAL unit (without start code), inserting
// emulation-prevention bytes.
func nal(refIdc, typ byte, rbsp []byte) []byte {
	out := []byte{refIdc<<5 | typ}
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

func videoSPS() []byte {
	var w bitWriter
	w.bits(66, 8)   // profile_idc: Baseline
	w.bits(0xC0, 8) // constraint_set0 and 1
	w.bits(30, 8)   // level 3.0
	w.ue(0)         // seq_parameter_set_id
	w.ue(0)         // log2_max_frame_num_minus4
	w.ue(2)         // pic_order_cnt_type: output order is decoding order
	w.ue(1)         // max_num_ref_frames
	w.bit(0)        // gaps_in_frame_num_value_allowed_flag
	w.ue(videoMBW - 1)
	w.ue(videoMBH - 1)
	w.bit(1) // frame_mbs_only_flag
	w.bit(1) // direct_8x8_inference_flag
	w.bit(0) // frame_cropping_flag
	w.bit(0) // vui_parameters_present_flag
	return nal(3, 7, w.trailing())
}

func videoPPS() []byte {
	var w bitWriter
	w.ue(0)      // pic_parameter_set_id
	w.ue(0)      // seq_parameter_set_id
	w.bit(0)     // entropy_coding_mode_flag: CAVLC
	w.bit(0)     // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)      // num_slice_groups_minus1
	w.ue(0)      // num_ref_idx_l0_default_active_minus1
	w.ue(0)      // num_ref_idx_l1_default_active_minus1
	w.bit(0)     // weighted_pred_flag
	w.bits(0, 2) // weighted_bipred_idc
	w.ue(0 + 0)  // pic_init_qp_minus26 (se 0 == ue 0)
	w.ue(0)      // pic_init_qs_minus26
	w.ue(0)      // chroma_qp_index_offset
	w.bit(0)     // deblocking_filter_control_present_flag
	w.bit(0)     // constrained_intra_pred_flag
	w.bit(0)     // redundant_pic_cnt_present_flag
	return nal(3, 8, w.trailing())
}

// videoFrame renders frame n as an IDR slice of I_PCM macroblocks: a sky
// gradient, green ground, and a sun that rises across the frame.
func videoFrame(n int) []byte {
	width, height := videoMBW*16, videoMBH*16
	t := float64(n) / float64(videoFrames-1)
	sunX := 12 + t*float64(width-24)
	sunY := float64(height)*0.7 - t*float64(height)*0.5
	yuv := func(x, y int) (yy, cb, cr byte) {
		var r, g, b float64
		dx, dy := float64(x)-sunX, float64(y)-sunY
		switch {
		case dx*dx+dy*dy < 100:
			r, g, b = 250, 200, 40
		case y > height*3/4:
			r, g, b = 60, 150, 70
		default:
			f := float64(y) / float64(height)
			r, g, b = 90+100*f, 150+60*f, 230
		}
		clip := func(v float64) byte { return byte(math.Max(16, math.Min(235, v))) }
		return clip(16 + 0.257*r + 0.504*g + 0.098*b), clip(128 - 0.148*r - 0.291*g + 0.439*b), clip(128 + 0.439*r - 0.368*g - 0.071*b)
	}
	var w bitWriter
	w.ue(0)           // first_mb_in_slice
	w.ue(7)           // slice_type: I (all slices)
	w.ue(0)           // pic_parameter_set_id
	w.bits(0, 4)      // frame_num
	w.ue(uint(n % 2)) // idr_pic_id differs between neighbouring IDRs
	w.bit(0)          // no_output_of_prior_pics_flag
	w.bit(0)          // long_term_reference_flag
	w.ue(0)           // slice_qp_delta (se 0)
	for my := range videoMBH {
		for mx := range videoMBW {
			w.ue(25) // mb_type I_PCM
			w.align()
			for y := range 16 {
				for x := range 16 {
					l, _, _ := yuv(mx*16+x, my*16+y)
					w.bits(uint(l), 8)
				}
			}
			for plane := range 2 {
				for y := range 8 {
					for x := range 8 {
						_, cb, cr := yuv(mx*16+x*2, my*16+y*2)
						if plane == 0 {
							w.bits(uint(cb), 8)
						} else {
							w.bits(uint(cr), 8)
						}
					}
				}
			}
		}
	}
	return nal(3, 5, w.trailing())
}

// box writes an ISO BMFF box.
func box(typ string, parts ...[]byte) []byte {
	size := 8
	for _, p := range parts {
		size += len(p)
	}
	out := make([]byte, 0, size)
	out = binary.BigEndian.AppendUint32(out, uint32(size))
	out = append(out, typ...)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// fullBox is a box with version 0 and flags.
func fullBox(typ string, flags uint32, parts ...[]byte) []byte {
	return box(typ, append([][]byte{binary.BigEndian.AppendUint32(nil, flags)}, parts...)...)
}

func u32s(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func u16s(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

var unityMatrix = u32s(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)

// buildMP4 writes the sample video: a two-second MP4 with one H.264 track,
// moov before mdat so it streams.
func buildMP4() []byte {
	width, height := uint32(videoMBW*16), uint32(videoMBH*16)
	sps, pps := videoSPS(), videoPPS()
	var samples [][]byte
	for i := range videoFrames {
		f := videoFrame(i)
		samples = append(samples, append(u32s(uint32(len(f))), f...))
	}
	const timescale = 1000
	delta := uint32(timescale / videoFPS)
	duration := delta * videoFrames

	avcC := box("avcC", []byte{1, 66, 0xC0, 30, 0xFF, 0xE1}, u16s(uint16(len(sps))), sps, []byte{1}, u16s(uint16(len(pps))), pps)
	compressor := make([]byte, 32)
	copy(compressor[1:], "Spark sandbox")
	compressor[0] = byte(len("Spark sandbox"))
	avc1 := box("avc1",
		make([]byte, 6), u16s(1), // reserved, data_reference_index
		make([]byte, 16), // pre_defined, reserved
		u16s(uint16(width), uint16(height)),
		u32s(0x00480000, 0x00480000, 0), u16s(1),
		compressor, u16s(0x0018, 0xFFFF), avcC)
	sizes := u32s(0, uint32(len(samples)))
	for _, s := range samples {
		sizes = append(sizes, u32s(uint32(len(s)))...)
	}
	ftyp := box("ftyp", []byte("isom"), u32s(0x200), []byte("isomiso2avc1mp41"))
	moov := func(chunkOffset uint32) []byte {
		stbl := box("stbl",
			fullBox("stsd", 0, u32s(1), avc1),
			fullBox("stts", 0, u32s(1, videoFrames, delta)),
			fullBox("stsc", 0, u32s(1, 1, videoFrames, 1)),
			fullBox("stsz", 0, sizes),
			fullBox("stco", 0, u32s(1, chunkOffset)))
		minf := box("minf",
			fullBox("vmhd", 1, make([]byte, 8)),
			box("dinf", fullBox("dref", 0, u32s(1), fullBox("url ", 1))),
			stbl)
		mdia := box("mdia",
			fullBox("mdhd", 0, u32s(0, 0, timescale, duration), u16s(0x55C4, 0)),
			fullBox("hdlr", 0, u32s(0), []byte("vide"), make([]byte, 12), []byte("VideoHandler\x00")),
			minf)
		tkhd := fullBox("tkhd", 3, u32s(0, 0, 1, 0, duration, 0, 0), u16s(0, 0, 0, 0), unityMatrix, u32s(width<<16, height<<16))
		mvhd := fullBox("mvhd", 0, u32s(0, 0, timescale, duration, 0x00010000), u16s(0x0100, 0), make([]byte, 8), unityMatrix, make([]byte, 24), u32s(2))
		return box("moov", mvhd, box("trak", tkhd, mdia))
	}
	m := moov(0)
	m = moov(uint32(len(ftyp) + len(m) + 8))
	var out bytes.Buffer
	out.Write(ftyp)
	out.Write(m)
	out.Write(box("mdat", bytes.Join(samples, nil)))
	return out.Bytes()
}
