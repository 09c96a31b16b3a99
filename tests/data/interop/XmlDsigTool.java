/*
 * XmlDsigTool.java -- the JDK's javax.xml.crypto on the other side of
 * Accord's XML signatures (tests/shell/interop_xmlsig.sh).
 *
 *   java XmlDsigTool sign KEY.pem CERT.pem IN OUT   enveloped, URI="",
 *       enveloped-signature + exc-c14n, SHA-256, RSA-SHA256 or
 *       ECDSA-SHA256 after the key, KeyInfo/X509Data/X509Certificate
 *   java XmlDsigTool verify CERT.pem IN             verify with CERT's key
 *
 * KEY is unencrypted PKCS#8 PEM, as certs/mkpki.sh writes it.  Exit
 * status 0 on success, 1 when a signature does not verify, 2 on errors.
 */
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import javax.xml.XMLConstants;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignatureMethod;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.Transform;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMSignContext;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.KeyInfoFactory;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.crypto.dsig.spec.C14NMethodParameterSpec;
import javax.xml.crypto.dsig.spec.TransformParameterSpec;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public final class XmlDsigTool {
	private static final String DSIG = XMLSignature.XMLNS;
	private static final String ECDSA_SHA256 =
	    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

	private XmlDsigTool() {
	}

	/* Hardened like Accord's parser: no DTD, no external anything. */
	private static Document parse(String path) throws Exception {
		DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
		f.setNamespaceAware(true);
		f.setFeature(
		    "http://apache.org/xml/features/disallow-doctype-decl",
		    true);
		f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
		f.setXIncludeAware(false);
		f.setExpandEntityReferences(false);
		try (InputStream in = new FileInputStream(path)) {
			return f.newDocumentBuilder().parse(in);
		}
	}

	private static X509Certificate cert(String path) throws Exception {
		try (InputStream in = new FileInputStream(path)) {
			return (X509Certificate) CertificateFactory
			    .getInstance("X.509").generateCertificate(in);
		}
	}

	private static PrivateKey key(String path, String alg)
	    throws Exception {
		/* the test PKI's keys (certs/mkpki.sh): PKCS#8 in PEM armour */
		String pem = new String(Files.readAllBytes(Paths.get(path)),
		    StandardCharsets.US_ASCII);
		String b64 = pem.replaceAll("-----[A-Z ]+-----", "")
		    .replaceAll("\\s", "");
		try {
			byte[] der = Base64.getDecoder().decode(b64);
			return KeyFactory.getInstance(alg)
			    .generatePrivate(new PKCS8EncodedKeySpec(der));
		} catch (IllegalArgumentException |
		    java.security.spec.InvalidKeySpecException e) {
			throw new IllegalArgumentException(path +
			    ": not an unencrypted PKCS#8 PEM key", e);
		}
	}

	private static void write(Document doc, String path)
	    throws Exception {
		try (OutputStream out = new FileOutputStream(path)) {
			TransformerFactory.newInstance().newTransformer()
			    .transform(new DOMSource(doc),
			    new StreamResult(out));
		}
	}

	private static int sign(String keyPath, String certPath, String in,
	    String out) throws Exception {
		X509Certificate c = cert(certPath);
		String kalg = c.getPublicKey().getAlgorithm();
		String salg;
		if (kalg.equals("RSA"))
			salg = SignatureMethod.RSA_SHA256;
		else if (kalg.equals("EC"))
			salg = ECDSA_SHA256;
		else
			throw new IllegalArgumentException("key " + kalg);
		PrivateKey k = key(keyPath, kalg);

		XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
		List<Transform> tr = List.of(
		    fac.newTransform(Transform.ENVELOPED,
			(TransformParameterSpec) null),
		    fac.newTransform(CanonicalizationMethod.EXCLUSIVE,
			(TransformParameterSpec) null));
		Reference ref = fac.newReference("",
		    fac.newDigestMethod(DigestMethod.SHA256, null), tr, null,
		    null);
		SignedInfo si = fac.newSignedInfo(
		    fac.newCanonicalizationMethod(
			CanonicalizationMethod.EXCLUSIVE,
			(C14NMethodParameterSpec) null),
		    fac.newSignatureMethod(salg, null),
		    Collections.singletonList(ref));
		KeyInfoFactory kif = fac.getKeyInfoFactory();
		X509Data xd = kif.newX509Data(Collections.singletonList(c));
		KeyInfo ki = kif.newKeyInfo(Collections.singletonList(xd));

		Document doc = parse(in);
		/* Appended to the root: ds:Signature ends up its last child. */
		DOMSignContext ctx = new DOMSignContext(k,
		    doc.getDocumentElement());
		ctx.setDefaultNamespacePrefix("ds");
		fac.newXMLSignature(si, ki).sign(ctx);
		write(doc, out);
		return 0;
	}

	private static int verify(String certPath, String in)
	    throws Exception {
		X509Certificate c = cert(certPath);
		Document doc = parse(in);
		NodeList nl = doc.getElementsByTagNameNS(DSIG, "Signature");
		if (nl.getLength() != 1) {
			System.out.println("REFUSED " + nl.getLength() +
			    " signatures");
			return 1;
		}
		Element sig = (Element) nl.item(0);
		if (sig.getParentNode() != doc.getDocumentElement()) {
			System.out.println("REFUSED signature not a child of "
			    + "the root");
			return 1;
		}
		DOMValidateContext ctx = new DOMValidateContext(
		    c.getPublicKey(), sig);
		ctx.setProperty("org.jcp.xml.dsig.secureValidation",
		    Boolean.TRUE);
		XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
		XMLSignature s = fac.unmarshalXMLSignature(ctx);
		List<?> refs = s.getSignedInfo().getReferences();
		if (refs.size() != 1 ||
		    !"".equals(((Reference) refs.get(0)).getURI())) {
			System.out.println("REFUSED reference is not URI=\"\"");
			return 1;
		}
		if (!s.validate(ctx)) {
			System.out.println("REFUSED signature value "
			    + s.getSignatureValue().validate(ctx)
			    + ", reference "
			    + ((Reference) refs.get(0)).validate(ctx));
			return 1;
		}
		System.out.println("OK " + s.getSignedInfo()
		    .getSignatureMethod().getAlgorithm());
		return 0;
	}

	public static void main(String[] args) {
		/* No "&#13;" inside base64 values: plain line breaks only. */
		System.setProperty(
		    "com.sun.org.apache.xml.internal.security.ignoreLineBreaks",
		    "true");
		int rc;
		try {
			if (args.length == 5 && args[0].equals("sign"))
				rc = sign(args[1], args[2], args[3], args[4]);
			else if (args.length == 3 && args[0].equals("verify"))
				rc = verify(args[1], args[2]);
			else {
				System.err.println("usage: XmlDsigTool sign KEY "
				    + "CERT IN OUT | verify CERT IN");
				rc = 2;
			}
		} catch (Exception e) {
			System.err.println("XmlDsigTool: " + e);
			rc = 2;
		}
		System.exit(rc);
	}
}
