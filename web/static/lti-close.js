// LTI Dynamic Registration 1.0 §3.6: tell the LMS that opened this page
// (window or iframe) that the registration is complete.
(window.opener || window.parent).postMessage({ subject: "org.imsglobal.lti.close" }, "*");
