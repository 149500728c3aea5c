package sandbox

import (
	"archive/zip"
	"bytes"
	"fmt"
	"html"
	"strings"
)

// slide is one slide of the sample presentation.
type slide struct {
	Title   string
	Bullets []string
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"

const (
	nsP   = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`
	nsRel = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
	nsPkg = `http://schemas.openxmlformats.org/package/2006/relationships`
	ctPML = `application/vnd.openxmlformats-officedocument.presentationml`
)

// buildPPTX writes a small PowerPoint file with the OOXML parts a viewer
// needs: content types, package relationships, presentation, one master,
// one layout, a theme and the slides. No macros.
func buildPPTX(slides []slide) ([]byte, error) {
	var overrides, sldIDs, presRels strings.Builder
	parts := [][2]string{}
	for i, s := range slides {
		n := i + 1
		fmt.Fprintf(&overrides, `<Override PartName="/ppt/slides/slide%d.xml" ContentType="%s.slide+xml"/>`, n, ctPML)
		fmt.Fprintf(&sldIDs, `<p:sldId id="%d" r:id="rId%d"/>`, 255+n, n+1)
		fmt.Fprintf(&presRels, `<Relationship Id="rId%d" Type="%s/slide" Target="slides/slide%d.xml"/>`, n+1, nsRel, n)
		parts = append(parts,
			[2]string{fmt.Sprintf("ppt/slides/slide%d.xml", n), slideXML(s)},
			[2]string{fmt.Sprintf("ppt/slides/_rels/slide%d.xml.rels", n), xmlHeader +
				`<Relationships xmlns="` + nsPkg + `"><Relationship Id="rId1" Type="` + nsRel + `/slideLayout" Target="../slideLayouts/slideLayout1.xml"/></Relationships>`})
	}
	themeID := len(slides) + 2
	entries := [][2]string{
		{"[Content_Types].xml", xmlHeader + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/ppt/presentation.xml" ContentType="` + ctPML + `.presentation.main+xml"/>` +
			`<Override PartName="/ppt/slideMasters/slideMaster1.xml" ContentType="` + ctPML + `.slideMaster+xml"/>` +
			`<Override PartName="/ppt/slideLayouts/slideLayout1.xml" ContentType="` + ctPML + `.slideLayout+xml"/>` +
			`<Override PartName="/ppt/theme/theme1.xml" ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/>` +
			overrides.String() + `</Types>`},
		{"_rels/.rels", xmlHeader + `<Relationships xmlns="` + nsPkg + `"><Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="ppt/presentation.xml"/></Relationships>`},
		{"ppt/presentation.xml", xmlHeader + `<p:presentation ` + nsP + `><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst>` +
			`<p:sldIdLst>` + sldIDs.String() + `</p:sldIdLst><p:sldSz cx="9144000" cy="6858000" type="screen4x3"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>`},
		{"ppt/_rels/presentation.xml.rels", xmlHeader + `<Relationships xmlns="` + nsPkg + `">` +
			`<Relationship Id="rId1" Type="` + nsRel + `/slideMaster" Target="slideMasters/slideMaster1.xml"/>` + presRels.String() +
			fmt.Sprintf(`<Relationship Id="rId%d" Type="%s/theme" Target="theme/theme1.xml"/>`, themeID, nsRel) + `</Relationships>`},
		{"ppt/slideMasters/slideMaster1.xml", xmlHeader + `<p:sldMaster ` + nsP + `><p:cSld><p:spTree>` + groupProps + `</p:spTree></p:cSld>` +
			`<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/>` +
			`<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>`},
		{"ppt/slideMasters/_rels/slideMaster1.xml.rels", xmlHeader + `<Relationships xmlns="` + nsPkg + `">` +
			`<Relationship Id="rId1" Type="` + nsRel + `/slideLayout" Target="../slideLayouts/slideLayout1.xml"/>` +
			`<Relationship Id="rId2" Type="` + nsRel + `/theme" Target="../theme/theme1.xml"/></Relationships>`},
		{"ppt/slideLayouts/slideLayout1.xml", xmlHeader + `<p:sldLayout ` + nsP + ` type="obj"><p:cSld name="Title and Content"><p:spTree>` + groupProps + `</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>`},
		{"ppt/slideLayouts/_rels/slideLayout1.xml.rels", xmlHeader + `<Relationships xmlns="` + nsPkg + `"><Relationship Id="rId1" Type="` + nsRel + `/slideMaster" Target="../slideMasters/slideMaster1.xml"/></Relationships>`},
		{"ppt/theme/theme1.xml", themeXML},
	}
	entries = append(entries, parts...)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e[0])
		if err != nil {
			return nil, fmt.Errorf("pptx: %w", err)
		}
		if _, err := w.Write([]byte(e[1])); err != nil {
			return nil, fmt.Errorf("pptx: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("pptx: %w", err)
	}
	return buf.Bytes(), nil
}

const groupProps = `<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>`

// slideXML renders a title box and a bulleted body box.
func slideXML(s slide) string {
	var body strings.Builder
	for _, b := range s.Bullets {
		fmt.Fprintf(&body, `<a:p><a:pPr marL="342900" indent="-342900"><a:buChar char="•"/></a:pPr><a:r><a:rPr lang="en-US" sz="2400"/><a:t>%s</a:t></a:r></a:p>`, html.EscapeString(b))
	}
	shape := func(id int, name string, x, y, cx, cy int, text string) string {
		return fmt.Sprintf(`<p:sp><p:nvSpPr><p:cNvPr id="%d" name="%s"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>`+
			`<p:spPr><a:xfrm><a:off x="%d" y="%d"/><a:ext cx="%d" cy="%d"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>`+
			`<p:txBody><a:bodyPr wrap="square"/><a:lstStyle/>%s</p:txBody></p:sp>`, id, name, x, y, cx, cy, text)
	}
	title := fmt.Sprintf(`<a:p><a:r><a:rPr lang="en-US" sz="4000" b="1"/><a:t>%s</a:t></a:r></a:p>`, html.EscapeString(s.Title))
	return xmlHeader + `<p:sld ` + nsP + `><p:cSld><p:spTree>` + groupProps +
		shape(2, "Title", 457200, 274638, 8229600, 1143000, title) +
		shape(3, "Body", 457200, 1600200, 8229600, 4525963, body.String()) +
		`</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>`
}

// themeXML is the smallest complete Office theme: colours, fonts and format
// scheme are all required by the schema.
const themeXML = xmlHeader + `<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="Spark"><a:themeElements>` +
	`<a:clrScheme name="Spark"><a:dk1><a:srgbClr val="000000"/></a:dk1><a:lt1><a:srgbClr val="FFFFFF"/></a:lt1><a:dk2><a:srgbClr val="1F2937"/></a:dk2><a:lt2><a:srgbClr val="F3F4F6"/></a:lt2>` +
	`<a:accent1><a:srgbClr val="F97316"/></a:accent1><a:accent2><a:srgbClr val="2563EB"/></a:accent2><a:accent3><a:srgbClr val="16A34A"/></a:accent3><a:accent4><a:srgbClr val="9333EA"/></a:accent4>` +
	`<a:accent5><a:srgbClr val="DC2626"/></a:accent5><a:accent6><a:srgbClr val="0891B2"/></a:accent6><a:hlink><a:srgbClr val="2563EB"/></a:hlink><a:folHlink><a:srgbClr val="7C3AED"/></a:folHlink></a:clrScheme>` +
	`<a:fontScheme name="Spark"><a:majorFont><a:latin typeface="Calibri"/><a:ea typeface=""/><a:cs typeface=""/></a:majorFont><a:minorFont><a:latin typeface="Calibri"/><a:ea typeface=""/><a:cs typeface=""/></a:minorFont></a:fontScheme>` +
	`<a:fmtScheme name="Spark"><a:fillStyleLst><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:fillStyleLst>` +
	`<a:lnStyleLst><a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln><a:ln w="25400"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln><a:ln w="38100"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln></a:lnStyleLst>` +
	`<a:effectStyleLst><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle></a:effectStyleLst>` +
	`<a:bgFillStyleLst><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:bgFillStyleLst></a:fmtScheme>` +
	`</a:themeElements></a:theme>`
